using System.Diagnostics;
using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Training.Eval;
using static TorchSharp.torch;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot bench preprocess [&lt;model dir&gt;] [--runs N]</c>: decode + preprocess time of a 4032×3024 camera-size
/// JPEG, against the 600 ms budget a request may spend on its image.
/// </summary>
public static class BenchPreprocessCommand
{
    public const double TargetMs = 600;
    private const int Width = 4032, Height = 3024, Seed = 20241122, Quality = 90;

    public static int Run(CommandArgs args, TextWriter o)
    {
        var dir = args.Positional.Count > 0 ? args.Positional[0] : Bench.BenchPaths.SharedFixture("mllama-bench-config");
        var runs = int.TryParse(args.Option("runs") ?? "7", out var n) && n > 0
            ? n
            : throw new UsageException("--runs needs a positive whole number");
        var processor = new MllamaImageProcessor(PreprocessorConfig.Load(dir));
        var jpeg = SyntheticPhoto.Jpeg(Width, Height, Seed, Quality);
        o.WriteLine($"config: {Path.GetFullPath(dir)} (tile {processor.TileSize} px, up to {processor.MaxTiles} tiles)");
        o.WriteLine($"input: synthetic {Width}×{Height} JPEG q{Quality}, {jpeg.Length:N0} bytes (seed {Seed})");

        Measure(processor, jpeg);
        var decode = new List<double>();
        var preprocess = new List<double>();
        var total = new List<double>();
        ImageTiles? layout = null;
        for (var i = 0; i < runs; i++)
        {
            var (d, p, tiles) = Measure(processor, jpeg);
            decode.Add(d);
            preprocess.Add(p);
            total.Add(d + p);
            layout = tiles;
        }
        o.WriteLine($"output: {layout!.Resized.Width}×{layout.Resized.Height} resized, {layout.TileRows}×{layout.TileCols} tiles, aspect_ratio_id {layout.AspectRatioId}");
        o.WriteLine($"runs: {runs} (after 1 warm-up), {Environment.ProcessorCount} cores");
        o.WriteLine($"decode:     best {decode.Min(),7:F1} ms, median {Stats.Median(decode),7:F1} ms");
        o.WriteLine($"preprocess: best {preprocess.Min(),7:F1} ms, median {Stats.Median(preprocess),7:F1} ms");
        o.WriteLine($"total:      best {total.Min(),7:F1} ms, median {Stats.Median(total),7:F1} ms");
        o.WriteLine($"target: median ≤ {TargetMs:F0} ms {(Stats.Median(total) <= TargetMs ? "met" : "NOT met")}");
        return 0;
    }

    private static (double DecodeMs, double PreprocessMs, ImageTiles Tiles) Measure(MllamaImageProcessor processor, byte[] jpeg)
    {
        var clock = Stopwatch.StartNew();
        var image = ImageDecoder.Decode(jpeg);
        var decoded = clock.Elapsed.TotalMilliseconds;
        using var scope = NewDisposeScope();
        using var batch = processor.Process(image);
        return (decoded, clock.Elapsed.TotalMilliseconds - decoded, batch.Images[0][0]);
    }
}
