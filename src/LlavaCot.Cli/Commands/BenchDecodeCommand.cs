using System.Diagnostics;
using System.Globalization;
using LlavaCot.Cli.Bench;
using LlavaCot.Model;
using LlavaCot.Model.Config;
using LlavaCot.Model.Generation;
using LlavaCot.Model.Layers;
using LlavaCot.Runtime;
using static TorchSharp.torch;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot bench decode [&lt;config dir&gt;] [--steps N]</c>: text decode time per step at batch 1 and 4 in fp32, bf16,
/// int8 and int4 (random weights at the config's shapes; bf16 and int4 also at 16 rows, bf16 at 8), each against its bandwidth bound: the
/// bytes of the weights a step reads over the memory bandwidth measured here; then the rate libtorch's bf16 GEMM reaches
/// with one decoder weight from a decode step's width to a prompt's.
/// </summary>
public static class BenchDecodeCommand
{
    public static readonly string[] Options = ["steps"];

    private const int Prompt = 16;

    public static int Run(CommandArgs args, TextWriter o)
    {
        var dir = args.Positional.Count > 0 ? args.Positional[0] : BenchPaths.SharedFixture("mllama-bench-config");
        var steps = args.Int("steps", 16, 2);
        var config = MllamaConfig.Load(dir);
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine($"config: {Path.GetFullPath(dir)} ({config.Text.NumHiddenLayers} text layers, hidden {config.Text.HiddenSize}, vocab {config.Text.VocabSize})");
        o.WriteLine($"cpu flags: {HostFacts.Read().CpuFeatures}; {Environment.ProcessorCount} threads");
        var bandwidth = Bandwidth();
        o.WriteLine(string.Create(inv, $"memory read bandwidth: {bandwidth / 1e9:F1} GB/s (a parallel sum over 1 GB, best of 5)"));
        o.WriteLine("dtype          batch  ms/step  ms/token  weights read/step  bound ms  of bound");
        var perStep = new Dictionary<(string, int), double>();
        var logitsOf = new Dictionary<string, Tensor>();
        var prefill = new List<string>();
        long bf16Bytes = 0;
        // "bf16→fp32": bf16 weights computed in fp32, as on a CPU without bf16 arithmetic.
        foreach (var (label, dtype, matrices, quantize) in new[]
                 {
                     ("fp32", ScalarType.Float32, ScalarType.Float32, Quantization.None), ("bf16", ScalarType.BFloat16, ScalarType.BFloat16, Quantization.None),
                     ("bf16→fp32", ScalarType.Float32, ScalarType.BFloat16, Quantization.None), ("int8", ScalarType.BFloat16, ScalarType.BFloat16, Quantization.Int8),
                     ("int4", ScalarType.BFloat16, ScalarType.BFloat16, Quantization.Int4),
                 })
        {
            IWeightSource weights = new RandomWeights(1234, dtype, CPU, matrices);
            using var model = MllamaModel.Create(config, quantize == Quantization.None ? weights : new Quantizing(weights, quantize), dtype, CPU);
            var bytes = SearchBench.DecodeWeightBytes(model, seesImage: false);
            if (label == "bf16")
                bf16Bytes = bytes; // 2 bytes a weight, 2 FLOP a weight and row: FLOP per row = bytes
            // The second prompt is timed: the first pays one-time costs.
            PromptLogits(model, config).Dispose();
            var clock = Stopwatch.StartNew();
            var logits = PromptLogits(model, config);
            prefill.Add(string.Create(inv, $"{label} {clock.Elapsed.TotalMilliseconds:F0} ms"));
            logitsOf[label] = logits;
            // Also with libtorch's GEMM as called (not invariant), and bf16 with our fixed-order kernel: what invariance costs.
            (string, DecodeKernels)[] variants = label switch
            {
                "fp32" => [(label, DecodeKernels.Invariant), ("fp32 libtorch", DecodeKernels.Libtorch)],
                "bf16" => [(label, DecodeKernels.Invariant), ("bf16 fixed", DecodeKernels.FixedOrder), ("bf16 libtorch", DecodeKernels.Libtorch)],
                _ => [(label, DecodeKernels.Invariant)],
            };
            foreach (var (name, kernels) in variants)
            {
                DecodeScope.Kernels = kernels;
                try
                {
                    // The default bf16 kernel also at 8 and 16 rows: whether a wide step is still bound by reading weights.
                    foreach (var batch in name switch { "bf16" => new[] { 1, 4, 8, 16 }, "int4" => [1, 4, 16], _ => [1, 4] })
                    {
                        var ms = StepMilliseconds(model, batch, steps);
                        perStep[(name, batch)] = ms;
                        var bound = bytes / bandwidth * 1000;
                        o.WriteLine(string.Create(inv,
                            $"{name,-13}  {batch,5}  {ms,7:F1}  {ms / batch,8:F1}  {bytes / 1e9,14:F2} GB  {bound,8:F1}  {bound / ms,8:P0}"));
                        o.Flush();
                    }
                }
                finally
                {
                    DecodeScope.Kernels = DecodeKernels.Invariant;
                }
            }
        }
        o.WriteLine(string.Create(inv, $"bf16 decode at 16 rows: {perStep[("bf16", 16)] / perStep[("bf16", 4)]:F2}x the step at 4 rows, " +
                                       $"its weight products at {bf16Bytes * 16 / (perStep[("bf16", 16)] / 1000) / 1e9:F0} GFLOP/s"));
        var (gemmOut, gemmIn) = (config.Text.IntermediateSize, config.Text.HiddenSize);
        var gflops = GemmGflops(gemmOut, gemmIn, GemmRows).Select(g => g.ToString("F0", inv));
        o.WriteLine($"libtorch's bf16 GEMM with a [{gemmOut}, {gemmIn}] weight at {string.Join("/", GemmRows)} rows: {string.Join("/", gflops)} GFLOP/s (best of 3)");
        o.WriteLine("row-invariant GEMM (bf16 rows padded to a multiple measured per weight shape; none: the fixed-order kernel):");
        foreach (var line in RowInvariantGemm.Measured)
            o.WriteLine($"  {line}");
        var sampling = new SamplingOptions(0.6, 0, 0.9);
        o.WriteLine(string.Create(inv, $"sampling (temperature {sampling.Temperature}, top-p {sampling.TopP}, {config.Text.VocabSize} tokens): " +
                                       $"{SampleMilliseconds(config.Text.VocabSize, 1, steps, sampling):F1} ms at batch 1, " +
                                       $"{SampleMilliseconds(config.Text.VocabSize, 4, steps, sampling):F1} ms at batch 4; " +
                                       $"logits rounded to bf16 (ties at the cut, as from random bf16 weights): " +
                                       $"{SampleMilliseconds(config.Text.VocabSize, 1, steps, sampling, ScalarType.BFloat16):F1} ms at batch 1, " +
                                       $"{SampleMilliseconds(config.Text.VocabSize, 4, steps, sampling, ScalarType.BFloat16):F1} ms at batch 4"));
        o.WriteLine(string.Create(inv, $"int8 vs bf16 decode: {perStep[("bf16", 1)] / perStep[("int8", 1)]:F2}x at batch 1, " +
                                       $"{perStep[("bf16", 4)] / perStep[("int8", 4)]:F2}x at batch 4"));
        o.WriteLine(string.Create(inv, $"int4 vs int8 decode: {perStep[("int8", 1)] / perStep[("int4", 1)]:F2}x at batch 1 " +
                                       $"(int8 activations per group of 32); int4 vs bf16 at batch 4: {perStep[("bf16", 4)] / perStep[("int4", 4)]:F2}x"));
        o.WriteLine($"prefill of a {AccuracyPrompt}-token prompt (logits of every position): {string.Join(", ", prefill)}");
        // The same quantized weights computed in fp32, against their bf16 originals computed in fp32: quantization alone.
        foreach (var format in new[] { Quantization.Int8, Quantization.Int4 })
        {
            using var quantizedFp32 = MllamaModel.Create(config, new Quantizing(new RandomWeights(1234, ScalarType.Float32, CPU, ScalarType.BFloat16), format),
                ScalarType.Float32, CPU);
            logitsOf[$"{QuantizationText.Name(format)}→fp32"] = PromptLogits(quantizedFp32, config);
        }
        o.WriteLine($"quantization accuracy (the same random weights, a {AccuracyPrompt}-token prompt teacher-forced; top-1 agreement, relative RMS logit error;" +
                    " random weights give nearly flat logits, so models/README.md reports the trained demo model's):");
        foreach (var (reference, other, what) in new[]
                 {
                     ("bf16", "int8", "int8 vs bf16, both computed in bf16"),
                     ("bf16→fp32", "int8→fp32", "int8 vs bf16 weights, both computed in fp32"),
                     ("bf16", "int4", "int4 vs bf16, both computed in bf16"),
                     ("bf16→fp32", "int4→fp32", "int4 vs bf16 weights, both computed in fp32"),
                     ("bf16→fp32", "bf16", "for scale: bf16 vs fp32 compute of the same bf16 weights"),
                 })
        {
            var agreement = new LogitAgreement();
            agreement.Add(logitsOf[reference], logitsOf[other]);
            o.WriteLine(string.Create(inv, $"  {what}: {agreement.Agreement:P1} of {agreement.Positions} positions, {agreement.RelativeRms:P2}"));
        }
        foreach (var logits in logitsOf.Values)
            logits.Dispose();
        o.WriteLine(string.Create(inv, $"fp32 invariant vs libtorch as called: {perStep[("fp32 libtorch", 1)] / perStep[("fp32", 1)]:F2}x at batch 1, " +
                                       $"{perStep[("fp32 libtorch", 4)] / perStep[("fp32", 4)]:F2}x at batch 4"));
        o.WriteLine(string.Create(inv, $"bf16 invariant vs libtorch as called: {perStep[("bf16 libtorch", 1)] / perStep[("bf16", 1)]:F2}x at batch 1, " +
                                       $"{perStep[("bf16 libtorch", 4)] / perStep[("bf16", 4)]:F2}x at batch 4 (above 1: invariant is faster)"));
        return 0;
    }

    private const int AccuracyPrompt = 256;

    /// <summary>Logits of every position of a fixed random text prompt, [1, n, vocab] fp32.</summary>
    private static Tensor PromptLogits(MllamaModel model, MllamaConfig config)
    {
        using var mode = inference_mode();
        using var generator = new Generator(29);
        using var ids = randint(0, config.Text.VocabSize, [1, AccuracyPrompt], generator: generator);
        return model.Prefill(ids, null, null, null, allLogits: true);
    }

    /// <summary>Milliseconds to sample one token for each of <paramref name="batch"/> rows of random logits (median of the steps).</summary>
    private static double SampleMilliseconds(int vocab, int batch, int steps, SamplingOptions settings, ScalarType logitsDType = ScalarType.Float32)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        using var generator = new Generator(17);
        var logits = randn([batch, vocab], generator: generator).mul_(3).to(logitsDType);
        var random = new Random(17);
        var uniforms = Enumerable.Range(0, batch).Select(_ => (Func<double>)random.NextDouble).ToList();
        var times = new List<double>();
        for (var s = 0; s < steps; s++)
        {
            var clock = Stopwatch.StartNew();
            TokenSampler.Sample(logits, settings, uniforms);
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        return times.Order().ElementAt(times.Count / 2);
    }

    /// <summary>Milliseconds per decode step of <paramref name="batch"/> text-only sequences after a short prompt (median of the steps).</summary>
    private static double StepMilliseconds(MllamaModel model, int batch, int steps)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        using var cache = model.NewCache(batch, Prompt + steps + 1);
        model.Prefill(arange(1, Prompt + 1, 1, ScalarType.Int64).view(1, -1).expand(batch, -1).contiguous(), cache, null, null);
        var times = new List<double>();
        var ids = full(batch, 1, 7L, ScalarType.Int64);
        for (var s = 0; s < steps; s++)
        {
            var clock = Stopwatch.StartNew();
            using var logits = model.Decode(ids, cache, null, null);
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        return times.Order().ElementAt(times.Count / 2);
    }

    // A decode step's rows, then prompt-like widths: how far a wide step is from what the CPU's GEMM reaches.
    private static readonly int[] GemmRows = [1, 4, 16, 64, 256];

    /// <summary>GFLOP/s of a bf16 product of each number of random rows with one random [out, in] weight (best of three).</summary>
    private static IReadOnlyList<double> GemmGflops(long outFeatures, long inFeatures, IReadOnlyList<int> rowCounts)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        using var generator = new Generator(31);
        var weight = randn([outFeatures, inFeatures], generator: generator).to(ScalarType.BFloat16);
        return rowCounts.Select(rows =>
        {
            using var x = randn([rows, inFeatures], generator: generator).to(ScalarType.BFloat16);
            nn.functional.linear(x, weight).Dispose();
            var best = double.MaxValue;
            for (var i = 0; i < 3; i++)
            {
                var clock = Stopwatch.StartNew();
                nn.functional.linear(x, weight).Dispose();
                best = Math.Min(best, clock.Elapsed.TotalSeconds);
            }
            return 2.0 * rows * outFeatures * inFeatures / best / 1e9;
        }).ToList();
    }

    /// <summary>Bytes per second a parallel read of 1 GB achieves (best of five).</summary>
    private static double Bandwidth()
    {
        using var scope = NewDisposeScope();
        var big = ones(1L << 28, ScalarType.Float32);
        var best = double.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            big.sum().item<float>();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return (1L << 30) / best;
    }
}
