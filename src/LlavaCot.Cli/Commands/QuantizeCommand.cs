using System.Diagnostics;
using System.Globalization;
using LlavaCot.Model.IO;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot quantize &lt;model dir&gt; &lt;out dir&gt; [--bits 8|4] [--shards K]</c>: a copy of a model folder whose
/// text-decoder and projector linear weights are stored quantized, with their scales beside each (<c>&lt;name&gt;_scale</c>):
/// 8 bits as int8 (<c>I8</c>) with fp32 per-output-channel scales; 4 bits as codes (<c>U8</c>, two a byte, groups of 32)
/// with fp16 scales per group, the output head int8 (<see cref="Int4Weights"/>). Every other tensor and file as it was.
/// It loads as written without further settings, and is written tensor by tensor.
/// </summary>
public static class QuantizeCommand
{
    public static readonly string[] Options = ["shards", "bits"];

    public static int Run(CommandArgs args, TextWriter o)
    {
        var inDir = args.Required(0, "<model dir>");
        var outDir = args.NewFolder(1, "<out dir>");
        var setting = args.Int("bits", 8, 4) switch
        {
            8 => Quantization.Int8,
            4 => Quantization.Int4,
            var b => throw new UsageException($"--bits {b}: 8 or 4"),
        };
        using var checkpoint = Checkpoint.Open(inDir);
        var shards = args.Int("shards", checkpoint.Files.Count, 1);
        var plan = new List<PlannedTensor>();
        var formats = new Dictionary<string, Quantization>();
        foreach (var name in checkpoint.Names.Order(StringComparer.Ordinal))
        {
            var e = checkpoint.Entry(name);
            if (checkpoint.Contains(Int8Weights.ScaleName(name)) || Int8Weights.WeightOfScale(name) is { } w && checkpoint.Contains(w))
                throw new UsageException($"{inDir} is quantized already ('{name}'); quantize the folder it was made from");
            if (CheckpointWeights.FormatFor(name, e.Shape, setting) is { } format)
            {
                formats[name] = format;
                var (rows, cols) = (e.Shape[0], e.Shape[1]);
                plan.Add(format == Quantization.Int4
                    ? new PlannedTensor(name, Int4Weights.PackedShape(rows, cols), ScalarType.Byte)
                    : new PlannedTensor(name, e.Shape, ScalarType.Int8));
                plan.Add(format == Quantization.Int4
                    ? new PlannedTensor(Int8Weights.ScaleName(name), Int4Weights.ScaleShape(rows, cols), ScalarType.Float16)
                    : new PlannedTensor(Int8Weights.ScaleName(name), [rows], ScalarType.Float32));
            }
            else
                plan.Add(new PlannedTensor(name, e.Shape, SafetensorsDType.ScalarType(e.DType)));
        }
        Directory.CreateDirectory(outDir);
        foreach (var file in Directory.GetFiles(inDir).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)
                                                                  && Path.GetFileName(f) != Checkpoint.IndexFileName))
            File.Copy(file, Path.Combine(outDir, Path.GetFileName(file)));

        var total = plan.Sum(p => p.Bytes);
        o.WriteLine($"quantizing {formats.Count} linear weights to {QuantizationText.Name(setting)} ({total / 1e9:F2} GB in all) into {outDir}");
        var clock = Stopwatch.StartNew();
        var files = Math.Min(shards, plan.Count);
        var progress = new ProgressBar(o, ProgressBar.IsTerminal(o), total / 1e9, "GB") { Decimals = 2, UnitAfterCount = true };
        long done = 0;
        CheckpointWriter.Write(outDir, plan, p => Produce(checkpoint, p, formats), shards,
            new Dictionary<string, string> { ["format"] = "pt", ["llavacot"] = QuantizationText.Describe(setting) },
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
    /// A tensor of the new folder: a weight's quantized values or its scales (each quantizes the stored weight again, so
    /// no more than one weight is ever held), or a stored tensor as it is.
    /// </summary>
    private static Tensor Produce(Checkpoint checkpoint, PlannedTensor p, IReadOnlyDictionary<string, Quantization> formats)
    {
        var weightName = formats.ContainsKey(p.Name) ? p.Name : Int8Weights.WeightOfScale(p.Name) is { } w && formats.ContainsKey(w) ? w : null;
        if (weightName is null)
            return checkpoint.Read(p.Name);
        using var weight = checkpoint.Read(weightName);
        var q = Quantizing.Quantize(weight, formats[weightName]);
        var (keep, drop) = weightName == p.Name ? (q.Values, q.Scale) : (q.Scale, q.Values);
        drop.Dispose();
        return keep;
    }
}
