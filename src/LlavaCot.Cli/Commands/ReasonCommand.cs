using System.Globalization;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;
using LlavaCot.Runtime;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot reason &lt;model dir&gt; &lt;image|-&gt; "question" [--mode m] [--n N] [--seed S] [--max-new-tokens T] [--dtype d]</c>:
/// runs one search and prints its stages, judge verdicts and the answer as they happen.
/// </summary>
public static class ReasonCommand
{
    public static readonly string[] Options = ["mode", "n", "seed", "max-new-tokens", "dtype", "temperature", "tokens"];

    public static int Run(CommandArgs args, TextWriter o) => RunAsync(args, o).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(CommandArgs args, TextWriter o)
    {
        var dir = args.Required(0, "<model dir>");
        var imagePath = args.Required(1, "<image> (or - for none)");
        var question = args.Required(2, "\"question\"");
        var options = new ReasonOptions
        {
            Mode = ParseMode(args.Option("mode") ?? "stage_beam"),
            BeamSize = Int(args, "n", 2),
            Seed = args.Option("seed") is { } seed ? ulong.Parse(seed, CultureInfo.InvariantCulture) : null,
            MaxNewTokens = Int(args, "max-new-tokens", StopCondition.DefaultMaxNewTokens),
            Sampling = SamplingOptions.Default with
            {
                Temperature = args.Option("temperature") is { } temperature ? double.Parse(temperature, CultureInfo.InvariantCulture) : SamplingOptions.Default.Temperature,
            },
        };
        var showTokens = args.Option("tokens") is "true" or "1";
        ReadOnlyMemory<byte>? image = imagePath == "-" ? null : await File.ReadAllBytesAsync(imagePath);
        using var host = await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = dir, DType = args.Option("dtype") ?? "float32" });
        var request = new ReasonRequest(Guid.NewGuid().ToString("n"), image, question, options);
        await using var run = await host.Reasoner.StartAsync(request, CancellationToken.None);
        var failed = false;
        await foreach (var e in run.EventsAsync(CancellationToken.None))
        {
            switch (e)
            {
                case RequestAccepted a:
                    o.WriteLine($"[{a.Mode}, beam {a.BeamSize}, seed {a.Seed}, prompt {a.PromptTokens} tokens]");
                    break;
                case StageStarted s:
                    o.WriteLine($"== {s.Stage} ({s.Candidates} candidate{(s.Candidates == 1 ? "" : "s")})");
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
                case StageWinner w:
                    o.WriteLine($"  winner {w.Candidate}: {w.Text.Trim()}");
                    break;
                case FinalAnswer f:
                    o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"== answer ({f.Result.GeneratedTokens} tokens, {f.Result.JudgeCalls} judge calls, {f.Result.ElapsedSeconds:F1} s)"));
                    o.WriteLine(f.Result.Conclusion);
                    break;
                case ReasonError error:
                    o.WriteLine($"error: {error.Message}");
                    failed = true;
                    break;
            }
        }
        return failed ? 1 : 0;
    }

    public static ReasoningMode ParseMode(string mode) =>
        ReasoningModes.ByName.TryGetValue(mode, out var parsed)
            ? parsed
            : throw new UsageException($"--mode '{mode}' is not one of {string.Join(", ", ReasoningModes.ByName.Keys)}");

    private static int Int(CommandArgs args, string name, int fallback) =>
        args.Option(name) is not { } v ? fallback
        : int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
        : throw new UsageException($"--{name} needs a whole number, got '{v}'");
}
