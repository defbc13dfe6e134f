using System.Globalization;
using LlavaCot.Model;
using LlavaCot.Model.Layers;
using LlavaCot.Reasoning;
using LlavaCot.Runtime;
using LlavaCot.Training.Eval;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot eval &lt;model dir&gt; &lt;dataset.jsonl|.tsv&gt; [--modes single,stage_beam] [--scorers pairwise,verifier] [--n 1,2,4,8]
/// [--limit K] [--json out.json] [--plot out.png] [--answers out.jsonl] [--blank] [--seed S] [--max-new-tokens T]
/// [--judge-max-new-tokens J] [--workers W] [--quantize int8,int4]</c>: for every mode × scorer × N that applies
/// (<see cref="EvalPlan"/>), and a greedy single pass, accuracy with a 95 % Wilson interval and its paired difference
/// against single, well-formed tags, the scorer's agreement per stage, tokens and the model's seconds per question. With
/// W workers, W model instances answer questions concurrently (the same results, sooner on several cores). With
/// <c>--quantize</c>, the folder's weights as loaded (fp32 for the demo) and the same weights in each format named answer
/// every row on the same questions and seeds: each quantized row is paired against its unquantized one, after the
/// teacher-forced agreement of the two on the reference answers (<see cref="TeacherForced"/>).
/// </summary>
public static class EvalCommand
{
    public static readonly string[] Options =
        ["modes", "scorers", "n", "limit", "json", "plot", "seed", "max-new-tokens", "judge-max-new-tokens", "date", "workers", "answers", "quantize"];
    public static readonly string[] Flags = ["blank"];

    private const string MultipleChoiceScoring =
        "scoring: exact match of the option letter (or the option's text) in the CONCLUSION, VLMEvalKit-style exact-match accuracy; " +
        "no GPT-based answer extraction and no MMBench circular evaluation";

    public static int Run(CommandArgs args, TextWriter o) => RunAsync(args, o).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(CommandArgs args, TextWriter o)
    {
        var dir = args.Required(0, "<model dir>");
        var dataset = args.Required(1, "<dataset> (.jsonl or VLMEvalKit .tsv)");
        var modes = (args.Option("modes") ?? "single,stage_beam").Split(',').Select(ReasonCommand.ParseMode).Distinct().ToList();
        var scorers = ScorerOption.Parse(args, "scorers");
        var ns = args.Ints("n", "2,4", 1, ReasonOptions.MaxBeamSize, "a beam size");
        var limit = args.Int("limit", 1);
        var seed = (ulong)args.Int("seed", 1, 1);
        var maxNew = args.Int("max-new-tokens", 512, 1);
        var judgeMax = args.Int("judge-max-new-tokens", 1);
        var date = args.Option("date") is { } d
            ? DateOnly.ParseExact(d, "yyyy-MM-dd", CultureInfo.InvariantCulture)
            : new DateOnly(2024, 11, 26);

        var (rows, notes) = EvalPlan.Rows(modes, scorers, ns, args.Flag("blank"));
        var items = EvalSets.Load(dataset, limit);
        var workers = args.Int("workers", 1, 1);
        var settings = new ReasonerSettings { JudgeMaxNewTokens = judgeMax ?? StopCondition.DefaultMaxNewTokens };
        var formats = Formats(args);
        var hosts = new List<ModelHost>();
        var quantizedHosts = formats.ToDictionary(f => f, _ => new List<ModelHost>());
        using var release = new HostList([hosts, .. quantizedHosts.Values]);
        for (var i = 0; i < workers; i++)
            hosts.Add(await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = dir, Device = "cpu", Reasoning = settings }));
        foreach (var (format, list) in quantizedHosts)
            for (var i = 0; i < workers; i++)
                list.Add(await ModelHost.LoadAsync(new RuntimeOptions
                {
                    ModelDirectory = dir, Device = "cpu", Reasoning = settings, Quantize = QuantizationText.Name(format),
                }));
        // Each instance's ops then use their share of the cores instead of all of them at once.
        if (workers > 1)
            TorchSharp.torch.set_num_threads(Math.Max(1, Environment.ProcessorCount / workers));
        var host = hosts[0];
        settings = host.Settings;
        o.WriteLine($"model: {Path.GetFullPath(dir)} ({host.DType.Name}, {workers} instance{(workers > 1 ? "s" : "")}); {items.Count} questions from {Path.GetFullPath(dataset)}; " +
                    $"judge replies up to {settings.JudgeMaxNewTokens} tokens; CPU: {host.Generator.CpuFeatures}");
        foreach (var note in notes)
            o.WriteLine($"note: {note}");
        foreach (var format in formats)
            TeacherForcedAgreement(o, dir, host, format, items, date);
        var evaluator = Evaluator(hosts, maxNew, date);
        var quantized = quantizedHosts.ToDictionary(p => p.Key, p => Evaluator(p.Value, maxNew, date));
        if (items.Count > 0)
            foreach (var e in quantized.Values.Prepend(evaluator))
                await e.WarmUpAsync(items[0]);
        var blank = rows.Any(r => r.Blank) ? EvalSets.Blank(items) : [];
        var results = new List<ModeResult>();
        var quantizedResults = new List<(ModeResult Quantized, ModeResult Reference)>();
        foreach (var row in rows)
        {
            var result = await Run(o, evaluator, row.Blank ? blank : items, row, seed);
            results.Add(result);
            foreach (var (format, e) in quantized.Where(_ => !row.Blank))
                quantizedResults.Add((await Run(o, e, items, row with { Label = $"{row.Label} {QuantizationText.Name(format)}" }, seed), result));
        }
        var paired = EvalReport.Paired(results).Concat(quantizedResults.Select(p => PairedResult.Of(p.Quantized, p.Reference))).ToList();
        results.AddRange(quantizedResults.Select(p => p.Quantized));
        var scoring = items.Any(i => i.Type == "multiple_choice") ? MultipleChoiceScoring : null;
        EvalReport.WriteTable(o, results, paired, scoring);
        if (args.Option("json") is { } json)
        {
            EvalReport.WriteJson(json, results, paired, scoring);
            o.WriteLine($"json: {Path.GetFullPath(json)}");
        }
        if (args.Option("answers") is { } answers)
        {
            EvalReport.WriteAnswers(answers, items, results);
            o.WriteLine($"answers: {Path.GetFullPath(answers)}");
        }
        if (args.Option("plot") is { } plot)
        {
            AccuracyPlot.Save(results, plot, $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)))} on {Path.GetFileName(dataset)} ({items.Count} questions)");
            o.WriteLine($"plot: {Path.GetFullPath(plot)}");
        }
        return 0;
    }

    /// <summary>--quantize as a list of formats (int8, int4), none when absent.</summary>
    private static IReadOnlyList<Quantization> Formats(CommandArgs args) =>
        args.Option("quantize") is not { } value ? [] : value.Split(',').Select(Format).Distinct().ToList();

    /// <summary>One format as the server's Quantize setting reads it; none is no format to compare.</summary>
    private static Quantization Format(string name)
    {
        try
        {
            if (RuntimeOptions.ParseQuantization(name) is not Quantization.None and var format)
                return format;
        }
        catch (ArgumentException)
        {
            // Named below, with what --quantize takes.
        }
        throw new UsageException($"--quantize takes int8, int4 or both (int8,int4), not '{name}'");
    }

    private static Evaluator Evaluator(List<ModelHost> hosts, int maxNew, DateOnly date) =>
        new(hosts.Select(h => h.Reasoner).ToList(), maxNew, date, new ModelAccounting(
            () => hosts.Sum(h => h.Model.Counters.TotalSeconds),
            () => Task.WhenAll(hosts.Select(h => h.Worker.RunAsync(h.Generator.ClearCaches)))));

    /// <summary>
    /// The quantized weights against the folder's own, teacher-forced on the reference answers: top-1 agreement and the
    /// relative RMS error of the logits at every answer position (on this thread, with models of its own).
    /// </summary>
    private static void TeacherForcedAgreement(TextWriter o, string dir, ModelHost host, Quantization quantize, IReadOnlyList<EvalItem> items, DateOnly date)
    {
        using var reference = MllamaModel.Load(dir, dtype: host.Model.DType);
        using var quantized = MllamaModel.Load(dir, dtype: host.Model.DType, quantize: quantize);
        var progress = new ProgressBar(o, ProgressBar.IsTerminal(o), items.Count, "questions") { Label = "teacher-forced " };
        var agreement = TeacherForced.Compare(reference, quantized, host.Generator.Inputs, items, date, done => progress.Update(done));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{QuantizationText.Name(quantize)} vs {DTypeChoice.NameOf(host.Model.DType)} weights, teacher-forced on the reference answers: " +
            $"top-1 agreement {100 * agreement.Agreement:F2}% of {agreement.Positions} positions, relative RMS logit error {100 * agreement.RelativeRms:F2}%"));
    }

    /// <summary>Disposes every loaded model instance, also when loading a later one failed.</summary>
    private sealed class HostList(IEnumerable<List<ModelHost>> lists) : IDisposable
    {
        public void Dispose()
        {
            foreach (var hosts in lists)
                hosts.ForEach(h => h.Dispose());
        }
    }

    private static async Task<ModeResult> Run(TextWriter o, Evaluator evaluator, IReadOnlyList<EvalItem> items, EvalRow row, ulong seed)
    {
        var progress = new ProgressBar(o, ProgressBar.IsTerminal(o), items.Count, "questions") { Label = $"{row.Label,-27} " };
        return await evaluator.RunAsync(items, row, seed, done => progress.Update(done));
    }
}
