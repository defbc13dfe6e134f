using System.Diagnostics;
using System.Globalization;
using LlavaCot.Cli.Bench;
using LlavaCot.Model;
using LlavaCot.Model.Config;
using LlavaCot.Model.Layers;
using LlavaCot.Runtime;
using static TorchSharp.torch;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot bench vision [&lt;config dir&gt;] [--runs N]</c>: seconds the vision tower and projector take for one image
/// of the most tiles the config allows (random weights and pixels), computed in fp32, in bf16, and with bf16 weights
/// computed in fp32 (what a CPU without bf16 arithmetic runs); the last against fp32 is the cost of keeping the
/// weights in half the memory there.
/// </summary>
public static class BenchVisionCommand
{
    public static readonly string[] Options = ["runs"];

    public static int Run(CommandArgs args, TextWriter o)
    {
        var dir = args.Positional.Count > 0 ? args.Positional[0] : BenchPaths.SharedFixture("mllama-bench-config");
        var runs = args.Int("runs", 2, 1);
        var config = MllamaConfig.Load(dir);
        var inv = CultureInfo.InvariantCulture;
        var (ratioId, tiles) = config.Vision.SupportedAspectRatios.Select((r, i) => (Id: i + 1, Tiles: r[0] * r[1])).MaxBy(r => r.Tiles);
        o.WriteLine($"config: {Path.GetFullPath(dir)} ({config.Vision.NumHiddenLayers} + {config.Vision.NumGlobalLayers} vision layers, " +
                    $"hidden {config.Vision.HiddenSize}); one image of {tiles} tiles of {config.Vision.ImageSize} px");
        o.WriteLine($"cpu flags: {HostFacts.Read().CpuFeatures}; {Environment.ProcessorCount} threads");
        o.WriteLine("compute   weights   s/image (best of runs)");
        var seconds = new Dictionary<string, double>();
        foreach (var (label, dtype, matrices) in new[]
                 {
                     ("fp32", ScalarType.Float32, ScalarType.Float32), ("bf16", ScalarType.BFloat16, ScalarType.BFloat16),
                     ("fp32", ScalarType.Float32, ScalarType.BFloat16),
                 })
        {
            using var model = MllamaModel.Create(config, new RandomWeights(1234, dtype, CPU, matrices), dtype, CPU);
            var best = Enumerable.Range(0, runs + 1).Select(_ => Seconds(model, config, ratioId, tiles)).Skip(1).Min();
            var weights = DTypeChoice.NameOf(matrices);
            seconds[$"{label}/{weights}"] = best;
            o.WriteLine(string.Create(inv, $"{label,-8}  {weights,-8}  {best,8:F2}"));
            o.Flush();
        }
        o.WriteLine(string.Create(inv, $"bf16 weights computed in fp32 vs fp32: {seconds["fp32/bfloat16"] / seconds["fp32/float32"]:F2}x the time; " +
                                       $"bf16 vs fp32: {seconds["bf16/bfloat16"] / seconds["fp32/float32"]:F2}x"));
        return 0;
    }

    /// <summary>One pass of the tower and projector over random pixels; the first of a model's passes also warms it up.</summary>
    private static double Seconds(MllamaModel model, MllamaConfig config, int ratioId, int tiles)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        var size = config.Vision.ImageSize;
        using var generator = new Generator(3);
        var pixels = randn([1, 1, config.Vision.MaxNumTiles, config.Vision.NumChannels, size, size], generator: generator);
        var mask = zeros([1, 1, config.Vision.MaxNumTiles], ScalarType.Int64);
        mask.narrow(2, 0, tiles).fill_(1);
        var clock = Stopwatch.StartNew();
        model.EncodeImages(pixels, full([1, 1], ratioId, ScalarType.Int64), mask);
        return clock.Elapsed.TotalSeconds;
    }
}
