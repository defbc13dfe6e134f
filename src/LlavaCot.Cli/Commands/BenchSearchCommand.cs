using System.Globalization;
using LlavaCot.Cli.Bench;
using LlavaCot.Runtime;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot bench search [&lt;config dir&gt;] [--n 1,2,4] [--dtype bf16|fp32] [--quantize int8] [--tokenizer dir]</c>: the optimised
/// stage search against the reference's call pattern (naive) on the real model's layer shapes with random weights.
/// </summary>
public static class BenchSearchCommand
{
    public static int Run(CommandArgs args, TextWriter o) => RunAsync(args, o).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(CommandArgs args, TextWriter o)
    {
        var ns = args.Ints("n", "1,2,4", 1, 16, "a beam size");
        using var bench = await SearchBench.FromArgsAsync(args, o);
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine($"workload: one 4-tile image, {SearchBench.PromptTokens}-token prompt, {SearchBench.CandidateTokens} tokens per candidate, " +
                    $"{SearchBench.JudgeTokens} per judge reply");

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

        var optimised = new Dictionary<int, double>();
        var naive = new Dictionary<int, double>();
        o.WriteLine("N  optimised s  naive s  speed-up  decode b1 ms  decode bN ms  judge calls  prefilled  peak RSS GB");
        foreach (var n in ns)
        {
            // Each figure is printed as soon as it is measured: a late failure loses nothing already measured.
            var prefilledBefore = bench.Model.Counters.PrefilledTokens;
            var (fast, result) = await bench.SearchAsync(bench.Request(n, naive: false));
            // Tokens the optimised search prefilled: deterministic, unlike the times.
            var prefilled = bench.Model.Counters.PrefilledTokens - prefilledBefore;
            optimised[n] = fast;
            o.Write(string.Create(inv, $"{n,-2} {fast,11:F1}"));
            o.Flush();
            var (slow, _) = await bench.SearchAsync(bench.Request(n, naive: true));
            naive[n] = slow;
            o.Write(string.Create(inv, $"  {slow,7:F1}  {slow / fast,7:F2}x"));
            o.Flush();
            var (_, decodeN) = await bench.TextSpeedAsync(64, n, 8);
            o.WriteLine(string.Create(inv,
                $"  {decode1,12:F1}  {decodeN,12:F1}  {result.JudgeCalls,11}  {prefilled,9}  {SearchBench.PeakRssBytes() / 1e9,11:F2}"));
            o.Flush();
        }
        var single = await bench.SinglePassAsync(4 * SearchBench.CandidateTokens);
        o.WriteLine(string.Create(inv, $"single pass of {4 * SearchBench.CandidateTokens} tokens: {single:F1} s"));
        var largest = ns.Max();
        o.WriteLine(string.Create(inv, $"N={largest} speed-up: {naive[largest] / optimised[largest]:F1}x"));
        o.WriteLine(string.Create(inv, $"N={largest} vs single: {optimised[largest] / single:F1}x"));
        return 0;
    }
}
