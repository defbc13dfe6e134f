using System.Diagnostics;
using System.Globalization;
using LlavaCot.Cli.Bench;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Runtime;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot bench serve [&lt;config dir&gt;] [--k 1,2,4,8] [--n 4] [--scorer pairwise|verifier] [--dtype bf16|fp32] [--quantize int8]
/// [--tokenizer dir] [--stagger S [--runs R]]</c>: K stage searches at once against the same K one after another (each with
/// its own image and seed, the bench search's fixed workload), on the real model's layer shapes with random weights. With
/// <c>--stagger</c>, K searches arriving S seconds apart, with prefill chunks and layer-by-layer vision on and off
/// (<see cref="StaggerBench"/>).
/// </summary>
public static class BenchServeCommand
{
    public static readonly string[] Options = ["k", "n", "dtype", "quantize", "tokenizer", "scorer", "stagger", "runs"];

    private sealed record Measured(
        double Wall, IReadOnlyList<double> Latencies, double Vision, double Prefill, double Decode, double Sample, double Judge,
        long Steps, long Rows, long Hits, long Misses, long JudgeCalls, long ScoreCalls)
    {
        public double PerMinute => Latencies.Count / Wall * 60;
        public double MeanBatch => Steps == 0 ? 0 : (double)Rows / Steps;
        public double RowsPerSecond => Decode == 0 ? 0 : Rows / Decode;
    }

    public static int Run(CommandArgs args, TextWriter o) => RunAsync(args, o).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(CommandArgs args, TextWriter o)
    {
        var ks = args.Ints("k", "1,2,4,8", 1, 32, "a number of searches");
        var n = args.Int("n", 4, 1);
        var scorer = ScorerOption.Parse(args, "scorer") switch
        {
            null => ScorerKind.Pairwise,
            [var one] => one,
            _ => throw new UsageException("--scorer: bench serve takes one scorer"),
        };
        using var bench = await SearchBench.FromArgsAsync(args, o);
        if (args.Option("stagger") is not null)
            return await StaggerBench.RunAsync(bench, ks.Count == 1 ? ks[0] : 4, n, scorer, args.Seconds("stagger", 0), args.Int("runs", 3, 1), o);
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine($"workload: stage search N={n} with the {Scorers.Name(scorer)} scorer, one 4-tile image per search (all different), {SearchBench.CandidateTokens} tokens per " +
                    $"candidate, {SearchBench.JudgeTokens} per judge reply; at most {ModelWorker.DefaultMaxBatchRows} rows per decode step");
        await bench.SinglePassAsync(4);

        // The scorer's time: the judge comparisons' (summed over them), or the verifier's batches'.
        var scorerColumn = scorer == ScorerKind.Verifier ? "score s" : "judge s";
        o.WriteLine($"K  mode        total s  vision s  prefill s  decode s  sample s  {scorerColumn}  searches/min  p50 s  p95 s  mean batch  rows/s  image hits  peak RSS GB  judge calls  score calls");
        var results = new Dictionary<(int, bool), Measured>();
        var image = 0;
        foreach (var k in ks)
        {
            foreach (var together in new[] { false, true })
            {
                // Every search has an image of its own: none is a cache hit, in either mode.
                var requests = Enumerable.Range(0, k).Select(i => bench.ServeRequest(n, i, bench.Image(++image), scorer)).ToList();
                var m = await MeasureAsync(bench, requests, together);
                results[(k, together)] = m;
                o.WriteLine(string.Create(inv,
                    $"{k,-2} {(together ? "concurrent" : "sequential"),-10} {m.Wall,8:F1} {m.Vision,9:F1} {m.Prefill,10:F1} {m.Decode,9:F1} {m.Sample,9:F1} " +
                    $"{m.Judge,8:F1} {m.PerMinute,13:F2} {Percentile(m.Latencies, 0.5),6:F1} {Percentile(m.Latencies, 0.95),6:F1} " +
                    $"{m.MeanBatch,11:F2} {m.RowsPerSecond,7:F1} {m.Hits,5}/{m.Hits + m.Misses,-5} {SearchBench.PeakRssBytes() / 1e9,12:F2} {m.JudgeCalls,12} {m.ScoreCalls,12}"));
                o.Flush();
            }
        }
        var at = ks.Contains(4) ? 4 : ks.Max();
        var (seq, con) = (results[(at, false)], results[(at, true)]);
        o.WriteLine(string.Create(inv, $"K={at} throughput gain: {con.PerMinute / seq.PerMinute:F2}x"));
        o.WriteLine(string.Create(inv, $"K={at} decode gain: {(seq.RowsPerSecond == 0 ? 0 : con.RowsPerSecond / seq.RowsPerSecond):F2}x"));
        return 0;
    }

    private static async Task<Measured> MeasureAsync(SearchBench bench, IReadOnlyList<Reasoning.ReasonRequest> requests, bool together)
    {
        var c = bench.Model.Counters;
        var before = (c.VisionSeconds, c.PrefillSeconds, c.DecodeSeconds, c.SampleSeconds, c.DecodeSteps, c.DecodedTokens, bench.ImageCache.Hits, bench.ImageCache.Misses);
        var clock = Stopwatch.StartNew();
        var runs = new List<SearchBench.Timed>();
        if (together)
            runs.AddRange(await Task.WhenAll(requests.Select(r => Task.Run(() => bench.TimedSearchAsync(r)))));
        else
            foreach (var r in requests)
                runs.Add(await bench.TimedSearchAsync(r));
        return new Measured(clock.Elapsed.TotalSeconds, runs.Select(r => r.Seconds).ToList(),
            c.VisionSeconds - before.VisionSeconds, c.PrefillSeconds - before.PrefillSeconds, c.DecodeSeconds - before.DecodeSeconds,
            c.SampleSeconds - before.SampleSeconds, runs.Sum(r => r.JudgeSeconds + r.ScoreSeconds), c.DecodeSteps - before.DecodeSteps, c.DecodedTokens - before.DecodedTokens,
            bench.ImageCache.Hits - before.Hits, bench.ImageCache.Misses - before.Misses,
            runs.Sum(r => (long)r.Result.JudgeCalls), runs.Sum(r => (long)r.Result.ScoreCalls));
    }

    /// <summary>Nearest-rank percentile.</summary>
    internal static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
    }
}
