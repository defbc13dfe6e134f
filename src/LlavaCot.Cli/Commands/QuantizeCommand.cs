using System.Diagnostics;
using System.Globalization;
using LlavaCot.Model.IO;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot quantize &lt;model dir&gt; &lt;out dir&gt; [--shards K]</c>: a copy of a model folder whose text-decoder and
/// projector linear weights are stored as int8 (<c>I8</c>) with fp32 per-output-channel scales beside each
/// (<c>&lt;name&gt;_scale</c>); every other tensor and file as it was. It loads as int8 without further settings, and is
/// written tensor by tensor.
/// </summary>
public static class QuantizeCommand
{
    public static readonly string[] Options = ["shards"];

    public static int Run(CommandArgs args, TextWriter o)
    {
        var inDir = args.Required(0, "<model dir>");
        var outDir = args.NewFolder(1, "<out dir>");
        using var checkpoint = Checkpoint.Open(inDir);
        var shards = args.Int("shards", checkpoint.Files.Count, 1);
        var plan = new List<PlannedTensor>();
        foreach (var name in checkpoint.Names.Order(StringComparer.Ordinal))
        {
            var e = checkpoint.Entry(name);
            if (CheckpointWeights.Quantizable(name, e.Shape) && e.DType != "I8")
            {
                plan.Add(new PlannedTensor(name, e.Shape, ScalarType.Int8));
                plan.Add(new PlannedTensor(Int8Weights.ScaleName(name), [e.Shape[0]], ScalarType.Float32));
            }
            else
                plan.Add(new PlannedTensor(name, e.Shape, SafetensorsDType.ScalarType(e.DType)));
        }
        Directory.CreateDirectory(outDir);
        foreach (var file in Directory.GetFiles(inDir).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)
                                                                  && Path.GetFileName(f) != Checkpoint.IndexFileName))
            File.Copy(file, Path.Combine(outDir, Path.GetFileName(file)));

        var quantized = plan.Count(p => p.DType == ScalarType.Int8);
        var total = plan.Sum(p => p.Bytes);
        o.WriteLine($"quantizing {quantized} linear weights to int8 ({total / 1e9:F2} GB in all) into {outDir}");
        var clock = Stopwatch.StartNew();
        var files = Math.Min(shards, plan.Count);
        var progress = new ProgressBar(o, ProgressBar.IsTerminal(o), total / 1e9, "GB") { Decimals = 2, UnitAfterCount = true };
        long done = 0;
        CheckpointWriter.Write(outDir, plan, p => Produce(checkpoint, p), shards,
            new Dictionary<string, string> { ["format"] = "pt", ["llavacot"] = "int8 weights, per-output-channel fp32 scales" },
            (bytes, shard) =>
            {
                done += bytes;
                progress.Update(done / 1e9, $"shard {shard}/{files}",
                    text: string.Create(CultureInfo.InvariantCulture, $"shard {shard}, {clock.Elapsed.TotalSeconds:F0} s"));
            });
        o.WriteLine($"wrote {outDir} in {clock.Elapsed.TotalSeconds:F1} s");
        return 0;
    }

    /// <summary>
    /// A tensor of the new folder: a weight's int8 values or its scales (each quantizes the stored weight again, so no
    /// more than one weight is ever held), or a stored tensor as it is.
    /// </summary>
    private static Tensor Produce(Checkpoint checkpoint, PlannedTensor p)
    {
        if (p.DType == ScalarType.Int8 && checkpoint.Entry(p.Name).DType != "I8")
        {
            using var weight = checkpoint.Read(p.Name);
            var (q, scale) = Int8Weights.Quantize(weight);
            scale.Dispose();
            return q;
        }
        if (Int8Weights.WeightOfScale(p.Name) is { } weightName && !checkpoint.Contains(p.Name))
        {
            using var weight = checkpoint.Read(weightName);
            var (q, scale) = Int8Weights.Quantize(weight);
            q.Dispose();
            return scale;
        }
        return checkpoint.Read(p.Name);
    }
}
