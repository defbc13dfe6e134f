using LlavaCot.Model.IO;
using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>How far loading has come: bytes of the checkpoint read, and the shard being read.</summary>
/// <param name="Weights">How the weights are kept: as stored, or quantized while loading.</param>
public sealed record LoadProgress(long BytesRead, long TotalBytes, int Shard, int Shards, string Weights = "");

/// <summary>
/// Weights read from a checkpoint, converted to the compute dtype and device. Accepts both the HF 4.45 names
/// (<c>language_model.model.*</c>, as released) and the 4.52+ in-memory layout (<c>model.language_model.*</c>).
/// With <paramref name="quantize"/>, the text decoder's and the projector's linear weights are quantized as they are
/// read, one at a time (the vision tower is compute-bound and stays dense); weights stored quantized with their scales
/// (a folder written by <c>llavacot quantize</c>) load as they are, whatever the setting. With
/// <paramref name="matrixDType"/>, linear weights and embedding tables are kept in that dtype (bf16 weights computed in fp32).
/// </summary>
public sealed class CheckpointWeights(Checkpoint checkpoint, ScalarType dtype, Device device, Action<LoadProgress>? progress = null,
    Quantization quantize = Quantization.None, ScalarType? matrixDType = null) : IQuantizedWeightSource
{
    private static readonly (string Legacy, string Current)[] Renames =
    [
        ("language_model.model.", "model.language_model."),
        ("language_model.lm_head.", "lm_head."),
        ("vision_model.", "model.vision_model."),
        ("multi_modal_projector.", "model.multi_modal_projector."),
    ];

    private readonly HashSet<string> _used = [];
    private readonly long _total = checkpoint.Names.Sum(n => checkpoint.Entry(n).ByteLength);
    private readonly Dictionary<SafetensorsFile, int> _shards = checkpoint.Files.Select((f, i) => (f, i)).ToDictionary(p => p.f, p => p.i + 1);
    private long _read;
    private string? _weights;

    public ScalarType DType => dtype;

    public ScalarType MatrixDType => matrixDType ?? dtype;

    /// <summary>How the linear weights are kept: quantized as stored (a folder written by <c>llavacot quantize</c>), quantized while loading, or dense.</summary>
    public string Weights => _weights ??= Stored() is { } stored ? $"{QuantizationText.Name(stored)} linear weights as stored"
        : quantize != Quantization.None ? $"{QuantizationText.Name(quantize)} linear weights, quantized while loading"
        : "dense weights";

    private Quantization? Stored()
    {
        var scaled = checkpoint.Names.Where(n => Int8Weights.WeightOfScale(n) is { } w && checkpoint.Contains(w)).Select(Int8Weights.WeightOfScale).ToList();
        return scaled.Count == 0 ? null : scaled.Any(w => checkpoint.Entry(w!).DType == "U8") ? Quantization.Int4 : Quantization.Int8;
    }

    /// <summary>Checkpoint tensors no module asked for (rotary caches excluded).</summary>
    public IEnumerable<string> Unused =>
        checkpoint.Names.Where(n => !_used.Contains(n) && !n.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal));

    /// <summary>
    /// Whether a stored tensor is one int8 quantization takes: a 2-D linear weight of the text decoder (its layers and
    /// its output head) or the projector, under either naming; the token embeddings are a lookup table and stay dense.
    /// </summary>
    public static bool Quantizable(string name, long[] shape) =>
        shape.Length == 2 && name.EndsWith(".weight", StringComparison.Ordinal) && !name.Contains("embed_tokens", StringComparison.Ordinal)
        && (name.StartsWith("language_model.", StringComparison.Ordinal) || name.StartsWith("model.language_model.", StringComparison.Ordinal)
            || name.StartsWith("lm_head.", StringComparison.Ordinal) || name.Contains("multi_modal_projector.", StringComparison.Ordinal));

    /// <summary>
    /// The format a weight is quantized to under <paramref name="setting"/>, or null when it stays dense. Under int4 the
    /// output head stays int8 (its errors land directly on the logits), and the token embeddings go to int8 (a lookup
    /// table, per row), which int8 leaves dense.
    /// </summary>
    public static Quantization? FormatFor(string name, long[] shape, Quantization setting) =>
        setting == Quantization.None ? null
        : IsTokenTable(name, shape) ? (setting == Quantization.Int4 ? Quantization.Int8 : null)
        : !Quantizable(name, shape) ? null
        : setting == Quantization.Int4 && IsOutputHead(name) ? Quantization.Int8
        : setting;

    private static bool IsOutputHead(string name) =>
        name.StartsWith("lm_head.", StringComparison.Ordinal) || name.StartsWith("language_model.lm_head.", StringComparison.Ordinal);

    private static bool IsTokenTable(string name, long[] shape) =>
        shape.Length == 2 && name.EndsWith("embed_tokens.weight", StringComparison.Ordinal);

    public QuantizedWeight? LoadQuantized(string name, long[] shape)
    {
        var stored = Resolve(name);
        var scaleName = Int8Weights.ScaleName(stored);
        if (checkpoint.Contains(scaleName))
        {
            if (checkpoint.Entry(stored).DType == "U8")
                return new QuantizedWeight(Quantization.Int4, Read(stored, Int4Weights.PackedShape(shape[0], shape[1]), ScalarType.Byte),
                    Read(scaleName, Int4Weights.ScaleShape(shape[0], shape[1]), ScalarType.Float16));
            return new QuantizedWeight(Quantization.Int8, Read(stored, shape, ScalarType.Int8), Read(scaleName, [shape[0]], ScalarType.Float32));
        }
        if (FormatFor(stored, shape, quantize) is not { } format)
            return null;
        using var dense = LoadMatrix(name, shape);
        return Quantizing.Quantize(dense, format);
    }

    public Tensor Load(string name, long[] shape) => Read(Resolve(name), shape, dtype);

    public Tensor LoadMatrix(string name, long[] shape) => Read(Resolve(name), shape, MatrixDType);

    private Tensor Read(string stored, long[] shape, ScalarType type)
    {
        var entry = checkpoint.Entry(stored);
        if (!entry.Shape.SequenceEqual(shape))
            throw new SafetensorsException(
                $"{checkpoint.OwnerOf(stored).Path}: tensor '{stored}' has shape [{string.Join(", ", entry.Shape)}], " +
                $"but config.json implies [{string.Join(", ", shape)}]");
        if (type is ScalarType.Int8 or ScalarType.Byte && SafetensorsDType.ScalarType(entry.DType) != type)
            throw new SafetensorsException($"{checkpoint.OwnerOf(stored).Path}: tensor '{stored}' is {entry.DType}, but its scales say it is quantized as {type}");
        _used.Add(stored);
        var tensor = checkpoint.Read(stored, type, device);
        _read += entry.ByteLength;
        progress?.Invoke(new LoadProgress(_read, _total, _shards[checkpoint.OwnerOf(stored)], checkpoint.Files.Count, Weights));
        return tensor;
    }

    private string Resolve(string name)
    {
        if (checkpoint.Contains(name))
            return name;
        foreach (var (legacy, current) in Renames)
        {
            if (name.StartsWith(legacy, StringComparison.Ordinal))
            {
                var renamed = current + name[legacy.Length..];
                if (checkpoint.Contains(renamed))
                    return renamed;
            }
        }
        throw new SafetensorsException($"{checkpoint.Source}: tensor '{name}' is missing from the checkpoint");
    }
}
