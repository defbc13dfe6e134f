using LlavaCot.Model.IO;
using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>How far loading has come: bytes of the checkpoint read, and the shard being read.</summary>
public sealed record LoadProgress(long BytesRead, long TotalBytes, int Shard, int Shards);

/// <summary>
/// Weights read from a checkpoint, converted to the compute dtype and device. Accepts both the HF 4.45 names
/// (<c>language_model.model.*</c>, as released) and the 4.52+ in-memory layout (<c>model.language_model.*</c>).
/// With <paramref name="int8"/>, the text decoder's and the projector's linear weights are quantized as they are read,
/// one at a time (the vision tower is compute-bound and stays dense); weights stored as int8 with their scales (a
/// folder written by <c>llavacot quantize</c>) load as they are. With <paramref name="matrixDType"/>, linear weights and
/// embedding tables are kept in that dtype (bf16 weights computed in fp32).
/// </summary>
public sealed class CheckpointWeights(Checkpoint checkpoint, ScalarType dtype, Device device, Action<LoadProgress>? progress = null,
    bool int8 = false, ScalarType? matrixDType = null) : IInt8WeightSource
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

    public ScalarType DType => dtype;

    public ScalarType MatrixDType => matrixDType ?? dtype;

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

    public (Tensor Weight, Tensor Scale)? LoadInt8(string name, long[] shape)
    {
        var stored = Resolve(name);
        var scaleName = Int8Weights.ScaleName(stored);
        if (checkpoint.Contains(scaleName))
        {
            var q = Load(name, shape);
            _used.Add(scaleName);
            return (q, checkpoint.Read(scaleName, ScalarType.Float32, device));
        }
        if (!int8 || !Quantizable(stored, shape))
            return null;
        using var dense = LoadMatrix(name, shape);
        return Int8Weights.Quantize(dense);
    }

    public Tensor Load(string name, long[] shape) => Read(name, shape, dtype);

    public Tensor LoadMatrix(string name, long[] shape) => Read(name, shape, MatrixDType);

    private Tensor Read(string name, long[] shape, ScalarType type)
    {
        var stored = Resolve(name);
        var entry = checkpoint.Entry(stored);
        if (!entry.Shape.SequenceEqual(shape))
            throw new SafetensorsException(
                $"{checkpoint.OwnerOf(stored).Path}: tensor '{stored}' has shape [{string.Join(", ", entry.Shape)}], " +
                $"but config.json implies [{string.Join(", ", shape)}]");
        _used.Add(stored);
        // Int8 values stay int8 (their scales come apart).
        var tensor = checkpoint.Read(stored, entry.DType == "I8" ? ScalarType.Int8 : type, device);
        _read += entry.ByteLength;
        progress?.Invoke(new LoadProgress(_read, _total, _shards[checkpoint.OwnerOf(stored)], checkpoint.Files.Count));
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
