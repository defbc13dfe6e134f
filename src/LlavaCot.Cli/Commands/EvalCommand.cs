using System.Globalization;
using LlavaCot.Reasoning;
using LlavaCot.Runtime;
using LlavaCot.Training.Eval;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot eval &lt;model dir&gt; &lt;dataset.jsonl|.tsv&gt; [--modes single,stage_beam] [--scorers pairwise,verifier] [--n 1,2,4,8]
/// [--limit K] [--json out.json] [--plot out.png] [--answers out.jsonl] [--blank] [--seed S] [--max-new-tokens T]
/// [--judge-max-new-tokens J] [--workers W]</c>: for every mode × scorer × N that applies (<see cref="EvalPlan"/>), and a
/// greedy single pass, accuracy with a 95 % Wilson interval and its paired difference against single, well-formed tags,
/// the scorer's agreement per stage, tokens and the model's seconds per question. With W workers, W model instances
/// answer questions concurrently (the same results, sooner on several cores).
/// </summary>
public static class EvalCommand
{
    public static readonly string[] Options =
        ["modes", "scorers", "n", "limit", "json", "plot", "seed", "max-new-tokens", "judge-max-new-tokens", "date", "workers", "answers"];
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
        foreach (var note in notes)
            o.WriteLine($"note: {note}");
        var evaluator = new Evaluator(hosts.Select(h => h.Reasoner).ToList(), maxNew, date, new ModelAccounting(
            () => hosts.Sum(h => h.Model.Counters.TotalSeconds),
            () => Task.WhenAll(hosts.Select(h => h.Worker.RunAsync(h.Generator.ClearCaches)))));
        if (items.Count > 0)
            await evaluator.WarmUpAsync(items[0]);
        var blank = rows.Any(r => r.Blank) ? EvalSets.Blank(items) : [];
        var results = new List<ModeResult>();
        foreach (var row in rows)
            results.Add(await Run(o, evaluator, row.Blank ? blank : items, row, seed));
        var paired = EvalReport.Paired(results);
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

    private static async Task<ModeResult> Run(TextWriter o, Evaluator evaluator, IReadOnlyList<EvalItem> items, EvalRow row, ulong seed)
    {
        var progress = new ProgressBar(o, ProgressBar.IsTerminal(o), items.Count, "questions") { Label = $"{row.Label,-27} " };
        return await evaluator.RunAsync(items, row, seed, done => progress.Update(done));
    }
}
