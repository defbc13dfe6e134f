using System.Globalization;
using LlavaCot.Reasoning;
using LlavaCot.Runtime;
using LlavaCot.Training.Eval;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot eval &lt;model dir&gt; &lt;dataset.jsonl|.tsv&gt; [--modes single,stage_beam] [--n 2,4] [--limit K] [--json out.json]
/// [--plot out.png] [--answers out.jsonl] [--blank] [--seed S] [--max-new-tokens T] [--judge-max-new-tokens J] [--workers W]</c>: accuracy with a
/// 95 % Wilson interval, well-formed tags, judge agreement per stage, tokens and time for each mode and N, paired against
/// single. With W workers, W model instances answer questions concurrently (the same results, sooner on several cores).
/// </summary>
public static class EvalCommand
{
    public static readonly string[] Options =
        ["modes", "n", "limit", "json", "plot", "seed", "max-new-tokens", "judge-max-new-tokens", "date", "workers", "answers"];
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
        var ns = args.Ints("n", "2,4", 1, ReasonOptions.MaxBeamSize, "a beam size");
        var limit = args.Int("limit", 1);
        var seed = (ulong)args.Int("seed", 1, 1);
        var maxNew = args.Int("max-new-tokens", 512, 1);
        var judgeMax = args.Int("judge-max-new-tokens", 1);
        var date = args.Option("date") is { } d
            ? DateOnly.ParseExact(d, "yyyy-MM-dd", CultureInfo.InvariantCulture)
            : new DateOnly(2024, 11, 26);

        var items = EvalSets.Load(dataset, limit);
        var workers = args.Int("workers", 1, 1);
        var settings = new ReasonerSettings { JudgeMaxNewTokens = judgeMax ?? StopCondition.DefaultMaxNewTokens };
        var hosts = new List<ModelHost>();
        using var release = new HostList(hosts);
        for (var i = 0; i < workers; i++)
            hosts.Add(await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = dir, Device = "cpu", Reasoning = settings }));
        // Each instance's ops then use their share of the cores instead of all of them at once.
        if (workers > 1)
            TorchSharp.torch.set_num_threads(Math.Max(1, Environment.ProcessorCount / workers));
        var host = hosts[0];
        settings = host.Settings;
        o.WriteLine($"model: {Path.GetFullPath(dir)} ({host.DType.Name}, {workers} instance{(workers > 1 ? "s" : "")}); {items.Count} questions from {Path.GetFullPath(dataset)}; " +
                    $"judge replies up to {settings.JudgeMaxNewTokens} tokens; CPU: {host.Generator.CpuFeatures}");
        var evaluator = new Evaluator(hosts.Select(h => h.Reasoner).ToList(), maxNew, date);
        var results = new List<ModeResult>();
        foreach (var mode in modes)
        {
            // Single and two-stage make one candidate; the other modes run at each N.
            foreach (var n in mode is ReasoningMode.Single or ReasoningMode.TwoStage ? [1] : ns)
                results.Add(await Run(o, evaluator, items, mode, n, seed, null));
        }
        if (args.Flag("blank"))
            results.Add(await Run(o, evaluator, EvalSets.Blank(items), ReasoningMode.Single, 1, seed, "single (blank image)"));
        var paired = results.FirstOrDefault(r => r.Label == "single N=1") is { } single
            ? results.Where(r => r != single && !r.Label.Contains('(')).Select(r => PairedResult.Of(r, single)).ToList()
            : [];
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

    /// <summary>Disposes every loaded model instance, also when loading a later one failed.</summary>
    private sealed class HostList(List<ModelHost> hosts) : IDisposable
    {
        public void Dispose() => hosts.ForEach(h => h.Dispose());
    }

    private static async Task<ModeResult> Run(TextWriter o, Evaluator evaluator, IReadOnlyList<EvalItem> items, ReasoningMode mode, int n, ulong seed, string? label)
    {
        var name = label ?? $"{ReasoningModes.Name(mode)} N={n}";
        var progress = new ProgressBar(o, ProgressBar.IsTerminal(o), items.Count, "questions") { Label = $"{name,-24} " };
        return await evaluator.RunAsync(items, mode, n, seed, label, done => progress.Update(done));
    }
}
