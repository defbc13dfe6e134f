using System.Globalization;
using LlavaCot.Cli.Bench;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Training.Eval;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot bench search [&lt;config dir&gt;] [--n 1,2,4] [--scorer pairwise,verifier] [--runs R] [--no-naive] [--dtype bf16|fp32]
/// [--quantize int8] [--tokenizer dir]</c>: the optimised stage search against the reference's call pattern (naive) on
/// the real model's layer shapes with random weights, with each scorer; the judge-free floor (the same search with a
/// scorer that makes no model call); and the search against a single pass. With R runs, each run measures a single
/// pass and then every search, and the ratios are the median of the runs' own ratios.
/// </summary>
public static class BenchSearchCommand
{
    public static readonly string[] Options = ["n", "dtype", "quantize", "tokenizer", "scorer", "runs"];
    public static readonly string[] Flags = ["no-naive"];

    public static int Run(CommandArgs args, TextWriter o) => RunAsync(args, o).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(CommandArgs args, TextWriter o)
    {
        var ns = args.Ints("n", "1,2,4", 1, 16, "a beam size");
        var scorers = ScorerOption.Parse(args, "scorer") ?? [ScorerKind.Pairwise];
        var runs = args.Int("runs", 1, 1);
        var withNaive = !args.Flag("no-naive");
        using var bench = await SearchBench.FromArgsAsync(args, o);
        var inv = CultureInfo.InvariantCulture;
        var singleTokens = 4 * SearchBench.CandidateTokens;
        o.WriteLine($"workload: one 4-tile image, {SearchBench.PromptTokens}-token prompt, {SearchBench.CandidateTokens} tokens per candidate, " +
                    $"{SearchBench.JudgeTokens} per judge reply");
        o.WriteLine($"scorers: {string.Join(", ", scorers.Select(Scorers.Name))}; {runs} run{(runs > 1 ? "s" : "")}, each a single pass of " +
                    $"{singleTokens} tokens, then every N with each scorer{(withNaive ? " (the naive pattern in the first run only)" : "")}, " +
                    "then the judge-free floor (the same search, its judge and score calls answered at once without the model)");

        // Warm-up: the first pass through each kernel shape pays one-time set-up costs.
        await bench.SinglePassAsync(4);
        var bandwidth = await bench.BandwidthAsync();
        var weightBytes = bench.DecodeWeightBytes();
        var boundMs = weightBytes / bandwidth * 1000;
        o.WriteLine(string.Create(inv, $"bandwidth (sum over 1 GB, best of 5): {bandwidth / 1e9:F1} GB/s; weights read per decode step: " +
                                       $"{weightBytes / 1e9:F2} GB → bound {boundMs:F1} ms/token"));
        var vision = await bench.VisionSecondsAsync();
        o.WriteLine(string.Create(inv, $"vision tower + cross K/V: {vision:F2} s per image"));
        var (prefill, decode1) = await bench.TextSpeedAsync(256, 1, 8);
        o.WriteLine(string.Create(inv, $"prefill: {prefill:F0} tokens/s; decode batch 1: {decode1:F1} ms/token ({boundMs / decode1:P0} of the bandwidth bound)"));

        var singles = new List<double>();
        var searches = new Dictionary<(int, ScorerKind), List<double>>();
        var floors = new Dictionary<int, List<double>>();
        var naive = new Dictionary<(int, ScorerKind), double>();
        o.WriteLine("N  optimised s  naive s  speed-up  decode b1 ms  decode bN ms  judge calls  prefilled  peak RSS GB  score calls  scorer    run");
        for (var run = 1; run <= runs; run++)
        {
            // Every measurement starts with no cached prompts, the image's features cached (the warm-up encoded them).
            await bench.ForgetPromptsAsync();
            var single = await bench.SinglePassAsync(singleTokens);
            singles.Add(single);
            o.WriteLine(string.Create(inv, $"single pass of {singleTokens} tokens: {single:F1} s{(runs > 1 ? $" (run {run})" : "")}"));
            o.Flush();
            foreach (var n in ns)
            {
                foreach (var scorer in scorers)
                {
                    // Each figure is printed as soon as it is measured: a late failure loses nothing already measured.
                    await bench.ForgetPromptsAsync();
                    var before = bench.PhasesNow();
                    var fast = await bench.TimedSearchAsync(bench.Request(n, scorer));
                    var phases = bench.PhasesNow() - before;
                    Add(searches, (n, scorer), fast.Seconds);
                    o.Write(string.Create(inv, $"{n,-2} {fast.Seconds,11:F1}"));
                    o.Flush();
                    if (withNaive && run == 1)
                    {
                        await bench.ForgetPromptsAsync();
                        var (slow, _) = await bench.ReferenceSearchAsync(bench.Request(n, scorer));
                        naive[(n, scorer)] = slow;
                        o.Write(string.Create(inv, $"  {slow,7:F1}  {slow / fast.Seconds,7:F2}x"));
                    }
                    else
                        o.Write($"  {"-",7}  {"-",8}");
                    o.Flush();
                    var (_, decodeN) = await bench.TextSpeedAsync(64, n, 8);
                    // Tokens the optimised search prefilled: deterministic, unlike the times.
                    o.WriteLine(string.Create(inv,
                        $"  {decode1,12:F1}  {decodeN,12:F1}  {fast.Result.JudgeCalls,11}  {phases.PrefilledTokens,9}  {SearchBench.PeakRssBytes() / 1e9,11:F2}" +
                        $"  {fast.Result.ScoreCalls,11}  {Scorers.Name(scorer),-8}  {run,3}"));
                    o.Flush();
                    WritePhases(o, fast, phases);
                }
                await bench.ForgetPromptsAsync();
                var floorBefore = bench.PhasesNow();
                var floor = await bench.TimedSearchAsync(bench.Request(n, scorers[0]), instantScorer: true);
                var floorPhases = bench.PhasesNow() - floorBefore;
                Add(floors, n, floor.Seconds);
                o.WriteLine(string.Create(inv,
                    $"{n,-2} {floor.Seconds,11:F1}  {"-",7}  {"-",8}  {"-",12}  {"-",12}  {"-",11}  {floorPhases.PrefilledTokens,9}  " +
                    $"{SearchBench.PeakRssBytes() / 1e9,11:F2}  {"-",11}  {"floor",-8}  {run,3}"));
                o.Flush();
                WritePhases(o, floor, floorPhases);
            }
        }

        if (runs > 1)
            o.WriteLine(string.Create(inv, $"single pass of {singleTokens} tokens: {Stats.Median(singles):F1} s{Spread(singles, "F1", " s")}"));
        var largest = ns.Max();
        foreach (var scorer in scorers.Where(s => naive.ContainsKey((largest, s))))
            o.WriteLine(string.Create(inv, $"N={largest} speed-up: {naive[(largest, scorer)] / searches[(largest, scorer)][0]:F1}x ({Scorers.Name(scorer)})"));
        var floorRatios = floors[largest].Zip(singles, (f, s) => f / s).ToList();
        o.WriteLine(string.Create(inv,
            $"N={largest} judge-free floor: {Stats.Median(floors[largest]):F1} s, {Stats.Median(floorRatios):F2}x single{Spread(floorRatios, "F2", "x")}"));
        foreach (var scorer in scorers)
        {
            // Each run's search against the same run's single pass: the machine's drift between runs cancels.
            var ratios = searches[(largest, scorer)].Zip(singles, (f, s) => f / s).ToList();
            o.WriteLine(string.Create(inv, $"N={largest} vs single: {Stats.Median(ratios):F2}x ({Scorers.Name(scorer)}){Spread(ratios, "F2", "x")}"));
        }
        return 0;
    }

    /// <summary>Where a search's time went: the model's phases (seconds of its own thread), the rest, and its scorer's share.</summary>
    private static void WritePhases(TextWriter o, SearchBench.Timed timed, Phases p)
    {
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   phases: vision {p.Vision:F1} s, prefill {p.Prefill:F1} s ({p.PrefilledTokens} tokens), decode {p.Decode:F1} s ({p.DecodeSteps} steps), " +
            $"sampling {p.Sample:F1} s, off the model {timed.Seconds - p.Total:F1} s; judge comparisons {timed.JudgeSeconds:F1} s (summed: a wave's overlap), " +
            $"verifier batches {timed.ScoreSeconds:F1} s ({timed.Result.ScoreTokens} tokens)"));
        o.Flush();
    }

    private static void Add<TKey>(Dictionary<TKey, List<double>> lists, TKey key, double value) where TKey : notnull
    {
        if (!lists.TryGetValue(key, out var list))
            lists[key] = list = [];
        list.Add(value);
    }

    /// <summary>", median of R runs: a, b, c (spread d)" for several runs; nothing for one.</summary>
    private static string Spread(IReadOnlyList<double> values, string format, string unit) =>
        values.Count < 2 ? "" : string.Create(CultureInfo.InvariantCulture,
            $", median of {values.Count} runs: {string.Join(", ", values.Select(v => v.ToString(format, CultureInfo.InvariantCulture)))}" +
            $" (spread {(values.Max() - values.Min()).ToString(format, CultureInfo.InvariantCulture)}{unit})");
}
