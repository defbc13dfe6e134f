using System.Globalization;
using LlavaCot.Model.Layers;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Runtime;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot reason [&lt;model dir&gt;] &lt;image|-&gt; "question" [--no-image] [--mode m] [--n N] [--seed S] ...</c>:
/// runs one search and prints its stages, judge verdicts, verifier scores, votes, SWIRES rounds and the answer as they happen. Without a model folder the
/// bundled demo model answers. The image is a file, or <c>-</c> for standard input; <c>--no-image</c> asks a
/// text-only question (then no image argument is given).
/// </summary>
public static class ReasonCommand
{
    public static readonly string[] Options =
        ["mode", "scorer", "swires-cutoff", "n", "seed", "max-new-tokens", "dtype", "temperature", "tokens", "date", "quantize", "bf16-support"];

    public static readonly string[] Flags = ["no-image"];

    public static int Run(CommandArgs args, TextWriter o, Stream stdin) => RunAsync(args, o, stdin).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(CommandArgs args, TextWriter o, Stream stdin)
    {
        var textOnly = args.Flag("no-image");
        var withModel = textOnly ? 2 : 3;
        if (args.Positional.Count > withModel)
            throw new UsageException($"unexpected argument '{args.Positional[withModel]}'");
        // Without a model folder the bundled demo model answers; a folder in first place then lacks the question.
        var first = args.Positional.Count == withModel ? 1 : 0;
        if (first == 0 && args.Positional.Count > 0 && Directory.Exists(args.Positional[0]))
            throw new UsageException("missing \"question\"");
        var dir = first == 1 ? args.Positional[0] : BundledModel.Directory;
        ReadOnlyMemory<byte>? image = null;
        if (!textOnly)
            image = await ReadImageAsync(args.Required(first, "<image> (a file, or - for standard input; --no-image for none)"), stdin);
        var question = args.Required(first + (textOnly ? 0 : 1), "\"question\"");
        // The model folder's default mode, and its scorer where no mode is named, as the server applies them.
        var folder = ModelSettings.Load(dir);
        var options = new ReasonOptions
        {
            Mode = args.Option("mode") is { } mode ? ParseMode(mode) : folder.DefaultMode ?? new ReasonOptions().Mode,
            Scorer = args.Option("scorer") is { } scorer ? Scorers.ByName.TryGetValue(scorer, out var kind) ? kind
                : throw new UsageException($"--scorer {Scorers.Unknown(scorer)}") : args.Option("mode") is null ? folder.DefaultScorer : null,
            SwiresCutoff = args.Option("swires-cutoff") is { } cutoff ? double.TryParse(cutoff, NumberStyles.Float, CultureInfo.InvariantCulture, out var cut) ? cut
                : throw new UsageException($"--swires-cutoff needs a number, got '{cutoff}'") : null,
            BeamSize = Int(args, "n", 2),
            Seed = args.Option("seed") is { } seed ? ulong.TryParse(seed, NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s
                : throw new UsageException($"--seed needs a whole number, got '{seed}'") : null,
            MaxNewTokens = Int(args, "max-new-tokens", StopCondition.DefaultMaxNewTokens),
            Sampling = SamplingOptions.Default with
            {
                Temperature = args.Option("temperature") is { } temp ? double.TryParse(temp, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
                    : throw new UsageException($"--temperature needs a number, got '{temp}'") : SamplingOptions.Default.Temperature,
            },
            Date = args.Option("date") is { } date ? DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d
                : throw new UsageException($"--date needs YYYY-MM-DD, got '{date}'") : null,
        };
        var showTokens = args.Option("tokens") is "true" or "1";
        var request = new ReasonRequest(Guid.NewGuid().ToString("n"), image, question, options);
        // The same checks and messages as the server's, before the model is loaded.
        new RequestLimits().Validate(request);
        var loading = new LoadReporter(line => o.WriteLine(line));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var host = await ModelHost.LoadAsync(new RuntimeOptions
        {
            ModelDirectory = dir, DType = args.Option("dtype") ?? "auto", Bf16Support = args.Option("bf16-support") ?? "auto", Quantize = QuantizationText.Name(args.Quantization()), LoadProgress = loading.Report,
        });
        foreach (var warning in host.Warnings)
            o.WriteLine($"warning: {warning}");
        o.WriteLine($"[{host.DType.Name}: {host.DType.Reason}]");
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[loaded in {clock.Elapsed.TotalSeconds:F1} s]"));
        await using var run = await host.Reasoner.StartAsync(request, CancellationToken.None);
        var failed = false;
        await foreach (var e in run.EventsAsync(CancellationToken.None))
        {
            switch (e)
            {
                case RequestAccepted a:
                    o.WriteLine($"[{a.Mode}, beam {a.BeamSize}, seed {a.Seed}, scorer {Scorers.Name(Scorers.Of(options))}, prompt {a.PromptTokens} tokens]");
                    break;
                case StageStarted st:
                    o.WriteLine($"== {st.Stage} ({st.Candidates} candidate{(st.Candidates == 1 ? "" : "s")})");
                    break;
                case TokenDelta t when showTokens:
                    o.Write(t.Text);
                    break;
                case CandidateFinished c:
                    o.WriteLine($"  candidate {c.Candidate}: {c.Tokens} tokens ({c.StopReason})");
                    break;
                case JudgeComparison j:
                    o.WriteLine($"  judge {j.First} vs {j.Second}: {j.Winner} wins ({j.Decision}, {j.Calls.Count} call{(j.Calls.Count == 1 ? "" : "s")})");
                    break;
                case CandidateScored sc:
                    o.WriteLine(Line(sc));
                    break;
                case VoteCounted vote:
                    foreach (var line in Lines(vote))
                        o.WriteLine(line);
                    break;
                case SwiresRound r:
                    foreach (var line in Lines(r))
                        o.WriteLine(line);
                    break;
                case StageKept k:
                    o.WriteLine($"  kept {string.Join(", ", k.Candidates)} (best first)");
                    break;
                case StageWinner w:
                    o.WriteLine($"  winner {w.Candidate} of {w.Stage} {w.Index + 1}: {w.Text.Trim()}");
                    break;
                case FinalAnswer f:
                    var scoring = f.Result.Scorer == Scorers.Name(ScorerKind.Verifier)
                        ? $", {f.Result.ScoreCalls} score calls of {f.Result.ScoreTokens} tokens" : "";
                    o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"== answer ({f.Result.GeneratedTokens} tokens, {f.Result.JudgeCalls} judge calls{scoring}, {f.Result.ElapsedSeconds:F1} s)"));
                    o.WriteLine(f.Result.Conclusion);
                    break;
                case ReasonError error:
                    o.WriteLine($"error: {error.Message}");
                    if (error.Cause is not null)
                        o.WriteLine(error.Cause);
                    failed = true;
                    break;
            }
        }
        var work = host.Model.Counters;
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[model work: vision tower {work.VisionSeconds:F1} s ({work.VisionRuns} pass{(work.VisionRuns == 1 ? "" : "es")}), " +
            $"prefill {work.PrefillSeconds:F1} s ({work.PrefilledTokens} tokens), decode {work.DecodeSeconds:F1} s ({work.DecodeSteps} steps, " +
            $"{work.DecodedTokens} tokens, {(work.DecodeSteps == 0 ? 0 : work.DecodeSeconds / work.DecodeSteps):F2} s/step), " +
            $"sampling {work.SampleSeconds:F1} s]"));
        return failed ? 1 : 0;
    }

    private static string Percent(double p) => string.Create(CultureInfo.InvariantCulture, $"{p * 100:F1}%");

    /// <summary>A verifier score: P(correct), and what it cost or why no call was made.</summary>
    private static string Line(CandidateScored s) => $"  score {s.Candidate}: P(correct) {Percent(s.Score)}" + s.Decision switch
    {
        "verifier" => $" ({s.Tokens} tokens)",
        "identical" => $" (identical to {s.IdenticalTo}, not scored again)",
        "missing_tags" => " (lacks its tags, not scored)",
        var other => $" ({other})",
    };

    /// <summary>Each distinct answer with the candidates that gave it and their weight, then the winner.</summary>
    private static IEnumerable<string> Lines(VoteCounted v)
    {
        var weighted = v.Decision == "weighted";
        yield return $"  vote ({v.Decision}): winner {v.Winner}";
        foreach (var t in v.Answers)
        {
            var weight = weighted
                ? string.Create(CultureInfo.InvariantCulture, $"summed P(correct) {t.Weight:F3}")
                : $"{t.Weight} vote{(t.Weight == 1 ? "" : "s")}";
            yield return $"    \"{t.Answer}\": candidate{(t.Candidates.Count == 1 ? "" : "s")} {string.Join(", ", t.Candidates)}, {weight}";
        }
    }

    /// <summary>The ranking so far (stage:candidate), the second best against the cutoff, and what the search does next.</summary>
    private static IEnumerable<string> Lines(SwiresRound r)
    {
        yield return $"  round {r.Round}: second best {Percent(r.SecondBest)} {(r.SecondBest <= r.Cutoff ? "<=" : ">")} cutoff {Percent(r.Cutoff)}, " +
                     (r.Backtrack ? "backtrack to new captions" : r.SecondBest <= r.Cutoff ? "no backtracks left, on to the conclusions" : "on to the conclusions");
        yield return "    ranking (stage:candidate): " + string.Join(", ", r.Ranking.Select(c => $"{c.Index}:{c.Candidate} {Percent(c.Score)}"));
    }

    /// <summary>An image file, or <c>-</c>: the bytes on standard input (the Unix convention).</summary>
    private static async Task<ReadOnlyMemory<byte>> ReadImageAsync(string path, Stream stdin)
    {
        if (path != "-")
            return await File.ReadAllBytesAsync(path);
        using var buffer = new MemoryStream();
        await stdin.CopyToAsync(buffer);
        return buffer.Length > 0
            ? buffer.ToArray()
            : throw new UsageException("the image '-' reads standard input, which was empty; pass --no-image to ask without an image");
    }

    public static ReasoningMode ParseMode(string mode) =>
        ReasoningModes.ByName.TryGetValue(mode, out var parsed) ? parsed : throw new UsageException($"--mode {ReasoningModes.Unknown(mode)}");

    private static int Int(CommandArgs args, string name, int fallback) =>
        args.Option(name) is not { } v ? fallback
        : int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n
        : throw new UsageException($"--{name} needs a whole number, got '{v}'");
}
