using LlavaCot.Model.IO;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Runtime;

/// <summary>The model cannot be loaded here; the message says why and what would fit.</summary>
public sealed class ModelLoadException(string message) : Exception(message);

/// <summary>
/// A checkpoint's parameters: those quantization takes (the output head apart, which int4 keeps in int8), the token
/// embeddings (int8 under int4, else dense), the rest, and what is stored quantized already (its bytes, and the
/// parameters they stand for).
/// </summary>
public sealed record WeightFootprint(long Dense, long Quantizable, long Head = 0, long Table = 0, long StoredBytes = 0, long StoredParameters = 0)
{
    public long Parameters => Dense + Quantizable + Head + Table + StoredParameters;

    /// <summary>
    /// Bytes in memory: the dense ones in <paramref name="dtype"/>; the quantizable ones in <paramref name="quantize"/>'s
    /// format (int8 a byte each, int4 4.5 bits with its scales; int8's own scales are negligible); stored ones as stored.
    /// </summary>
    public long Bytes(ScalarType dtype, Quantization quantize) => quantize switch
    {
        Quantization.None => (Dense + Quantizable + Head + Table) * Size(dtype) + StoredBytes,
        Quantization.Int8 => (Dense + Table) * Size(dtype) + Quantizable + Head + StoredBytes,
        _ => Dense * Size(dtype) + Quantizable * 9 / 16 + Head + Table + StoredBytes,
    };

    private static long Size(ScalarType dtype) => dtype == ScalarType.Float32 ? 4 : 2;

    /// <summary>From the checkpoint's headers (no weights are read).</summary>
    public static WeightFootprint Of(Checkpoint checkpoint)
    {
        long dense = 0, quantizable = 0, head = 0, table = 0, storedBytes = 0, storedParameters = 0;
        foreach (var name in checkpoint.Names)
        {
            var e = checkpoint.Entry(name);
            if (Int8Weights.WeightOfScale(name) is { } weight && checkpoint.Contains(weight))
                storedBytes += e.ByteLength;
            else if (checkpoint.Contains(Int8Weights.ScaleName(name)))
            {
                storedBytes += e.ByteLength;
                storedParameters += e.DType == "U8" ? 2 * e.ElementCount : e.ElementCount;
            }
            else if (CheckpointWeights.FormatFor(name, e.Shape, Quantization.Int8) is null && CheckpointWeights.FormatFor(name, e.Shape, Quantization.Int4) is not null)
                table += e.ElementCount;
            else if (CheckpointWeights.FormatFor(name, e.Shape, Quantization.Int4) == Quantization.Int8)
                head += e.ElementCount;
            else if (CheckpointWeights.Quantizable(name, e.Shape))
                quantizable += e.ElementCount;
            else
                dense += e.ElementCount;
        }
        return new WeightFootprint(dense, quantizable, head, table, storedBytes, storedParameters);
    }
}

/// <summary>
/// Whether the weights fit the memory available before any is read: a refusal names what the weights take as
/// configured, the reserve kept beside them (<see cref="DTypePolicy.Reserve"/>), what is available, and what would fit
/// instead (bf16, int8, int4). Loading holds no second copy of any tensor, so this is what it needs.
/// </summary>
public static class MemoryCheck
{
    private const double GiB = 1024.0 * 1024 * 1024;

    private static bool Fits(long bytes, long available) => bytes + DTypePolicy.Reserve(bytes) <= available;

    /// <returns>The refusal, or null when the weights fit (or the available memory is unknown).</returns>
    public static string? Refusal(string dir, WeightFootprint weights, ScalarType dtype, Quantization quantize, long? availableBytes)
    {
        if (availableBytes is not { } available)
            return null;
        var need = weights.Bytes(dtype, quantize);
        if (Fits(need, available))
            return null;
        var what = $"{DTypeChoice.NameOf(dtype)}{(quantize == Quantization.None ? "" : $" with {QuantizationText.Name(quantize)} linear weights")}";
        var message = $"{dir}: the weights take {need / GiB:F1} GiB in {what} and {DTypePolicy.Reserve(need) / GiB:F1} GiB are kept in " +
                      $"reserve beside them, but only {available / GiB:F1} GiB of memory is available";
        (string Setting, long Bytes)[] options =
        [
            ("DType=bfloat16", weights.Bytes(ScalarType.BFloat16, quantize)),
            ("Quantize=int8", weights.Bytes(dtype, Quantization.Int8)),
            ("DType=bfloat16 and Quantize=int8", weights.Bytes(ScalarType.BFloat16, Quantization.Int8)),
            ("Quantize=int4", weights.Bytes(dtype, Quantization.Int4)),
            ("DType=bfloat16 and Quantize=int4", weights.Bytes(ScalarType.BFloat16, Quantization.Int4)),
        ];
        var fitting = options.Where(o => o.Bytes < need && Fits(o.Bytes, available)).Select(o => $"with {o.Setting} they take {o.Bytes / GiB:F1} GiB, which fits").FirstOrDefault();
        var smallest = options.Min(o => o.Bytes);
        return fitting is not null
            ? $"{message}; {fitting}"
            : $"{message}; nothing fits: free memory or use a machine with at least {(smallest + DTypePolicy.Reserve(smallest)) / GiB:F1} GiB available";
    }
}
