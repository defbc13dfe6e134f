using System.Diagnostics;
using System.Globalization;
using LlavaCot.Cli.Commands;
using LlavaCot.Model.Generation;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Runtime;

namespace LlavaCot.Cli.Bench;

/// <summary>
/// <c>bench serve --stagger S</c>: K stage searches arriving S seconds apart, each with its own image (every one a
/// vision pass), R runs with the default prefill chunks and layer-by-layer vision, then R with whole prompts and images
/// (chunk 0, how the engine ran before). Per run: time to first token, the longest and the p95 gap between two decode
/// steps of a running search, the longest vision slice, prompt slice and decode step of the run, searches per minute.
/// The last line compares the longest gap with its bound: one vision layer + one prefill chunk + one decode step, each
/// the longest of its kind measured in the same runs (medians over the chunked runs).
/// </summary>
public static class StaggerBench
{
    private sealed record Run(double Wall, IReadOnlyList<double> FirstTokens, double LongestGap, double P95Gap,
        double VisionSlice, double PromptSlice, double DecodeStep, IReadOnlyList<string> Answers, Work Work)
    {
        public double PerMinute(int k) => k / Wall * 60;
    }

    /// <summary>Where a run's model time went: seconds in vision slices, prompt slices and decode steps, and the decode steps' rows.</summary>
    private sealed record Work(double Vision, double Prompt, double Decode, long DecodeSteps, long Rows)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"model time: vision {Vision:F1} s, prompts {Prompt:F1} s, decode {Decode:F1} s in {DecodeSteps} steps of {(double)Rows / Math.Max(1, DecodeSteps):F2} rows on average");
    }

    public static async Task<int> RunAsync(SearchBench bench, int k, int n, ScorerKind scorer, double stagger, int runs, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        var chunk = bench.PrefillChunkTokens == 0 ? RuntimeOptions.DefaultPrefillChunkTokens : bench.PrefillChunkTokens;
        o.WriteLine(string.Create(inv, $"workload: {k} stage searches N={n} with the {Scorers.Name(scorer)} scorer arriving {stagger:0.##} s apart, " +
                    $"each with its own 4-tile image; {runs} runs with prefill chunks of {chunk} tokens and vision a layer per step, {runs} with whole prompts and images"));
        await bench.SinglePassAsync(4);
        o.WriteLine("setting   run  total s  searches/min  TTFT p50 s  TTFT p95 s  longest gap s  p95 gap s  vision slice s  prompt slice s  decode step s");
        var results = new Dictionary<int, List<Run>>();
        var image = 100;
        foreach (var setting in new[] { chunk, 0 })
        {
            bench.PrefillChunkTokens = setting;
            results[setting] = [];
            for (var r = 1; r <= runs; r++)
            {
                // The same images and seeds in every run: only the setting differs between them.
                var requests = Enumerable.Range(0, k).Select(i => bench.ServeRequest(n, i, bench.Image(image + i), scorer)).ToList();
                await bench.ClearCachesAsync();
                var m = await MeasureAsync(bench, requests, stagger);
                results[setting].Add(m);
                o.WriteLine(string.Create(inv,
                    $"{(setting == 0 ? "whole" : $"chunk {setting}"),-9} {r,3} {m.Wall,8:F1} {m.PerMinute(k),13:F2} {Pct(m.FirstTokens, 0.5),11:F2} {Pct(m.FirstTokens, 0.95),11:F2} " +
                    $"{m.LongestGap,14:F2} {m.P95Gap,10:F3} {m.VisionSlice,15:F2} {m.PromptSlice,15:F2} {m.DecodeStep,14:F3}"));
                o.WriteLine($"          {m.Work}");
                o.Flush();
            }
        }
        var (on, off) = (results[chunk], results[0]);
        var identical = on.Concat(off).All(x => x.Answers.SequenceEqual(on[0].Answers));
        o.WriteLine($"answers identical in every run (chunked and whole): {(identical ? "yes" : "no")}");
        o.WriteLine(string.Create(inv, $"throughput, chunked against whole: {Median(on, x => x.PerMinute(k)) / Median(off, x => x.PerMinute(k)):F3}x " +
                    $"(searches/min, medians of {runs})"));
        o.WriteLine(string.Create(inv, $"longest decode gap with whole prompts and images: {Median(off, x => x.LongestGap):F2} s " +
                    $"(runs: {string.Join(", ", off.Select(x => x.LongestGap.ToString("F2", inv)))})"));
        o.WriteLine(string.Create(inv, $"one vision layer: {Median(on, x => x.VisionSlice):F2} s, one prefill chunk: {Median(on, x => x.PromptSlice):F2} s, " +
                    $"one decode step: {Median(on, x => x.DecodeStep):F3} s (the longest of each in a run, medians of {runs})"));
        var bound = Median(on, x => x.VisionSlice) + Median(on, x => x.PromptSlice) + Median(on, x => x.DecodeStep);
        o.WriteLine(string.Create(inv, $"longest decode gap: {Median(on, x => x.LongestGap):F2} s " +
                    $"(runs: {string.Join(", ", on.Select(x => x.LongestGap.ToString("F2", inv)))}), bound: {bound:F2} s"));
        return 0;
    }

    private static async Task<Run> MeasureAsync(SearchBench bench, IReadOnlyList<Reasoning.ReasonRequest> requests, double stagger)
    {
        var s = bench.Worker.Steps;
        var marks = (Gaps: s.DecodeGaps.Count, Vision: s.VisionSlices.Count, Prompt: s.PromptSlices.Count, Decode: s.DecodeSteps.Count);
        var before = (Vision: s.VisionSlices.Sum, Prompt: s.PromptSlices.Sum, Decode: s.DecodeSteps.Sum, Rows: s.DecodeRows);
        var clock = Stopwatch.StartNew();
        var runs = await Task.WhenAll(requests.Select((r, i) => Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(stagger * i));
            return await bench.TimedSearchAsync(r);
        })));
        var wall = clock.Elapsed.TotalSeconds;
        var gaps = s.DecodeGaps.Since(marks.Gaps);
        return new Run(wall, runs.Select(r => r.FirstTokenSeconds).ToList(), gaps.DefaultIfEmpty(0).Max(), Pct(gaps, 0.95),
            s.VisionSlices.Since(marks.Vision).DefaultIfEmpty(0).Max(), s.PromptSlices.Since(marks.Prompt).DefaultIfEmpty(0).Max(),
            s.DecodeSteps.Since(marks.Decode).DefaultIfEmpty(0).Max(), runs.Select(r => r.Result.Text).ToList(),
            new Work(s.VisionSlices.Sum - before.Vision, s.PromptSlices.Sum - before.Prompt, s.DecodeSteps.Sum - before.Decode,
                s.DecodeSteps.Count - marks.Decode, s.DecodeRows - before.Rows));
    }

    private static double Pct(IReadOnlyList<double> values, double p) => values.Count == 0 ? 0 : BenchServeCommand.Percentile(values, p);

    private static double Median(IReadOnlyList<Run> runs, Func<Run, double> value) => Pct(runs.Select(value).ToList(), 0.5);
}
