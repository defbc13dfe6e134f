using LlavaCot.Model.IO;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Runtime;

/// <summary>The model cannot be loaded here; the message says why and what would fit.</summary>
public sealed class ModelLoadException(string message) : Exception(message);

/// <summary>A checkpoint's parameters: those int8 quantization takes (or that are stored as int8), and the rest.</summary>
public sealed record WeightFootprint(long Dense, long Quantizable)
{
    public long Parameters => Dense + Quantizable;

    /// <summary>Bytes in memory: the dense ones in <paramref name="dtype"/>; the others one byte each when int8 (plus their scales, negligible).</summary>
    public long Bytes(ScalarType dtype, bool int8) =>
        int8 ? Dense * Size(dtype) + Quantizable : Parameters * Size(dtype);

    private static long Size(ScalarType dtype) => dtype == ScalarType.Float32 ? 4 : 2;

    /// <summary>From the checkpoint's headers (no weights are read).</summary>
    public static WeightFootprint Of(Checkpoint checkpoint)
    {
        long dense = 0, quantizable = 0;
        foreach (var name in checkpoint.Names)
        {
            var e = checkpoint.Entry(name);
            if (Int8Weights.WeightOfScale(name) is { } weight && checkpoint.Contains(weight))
                continue;
            if (e.DType == "I8" || CheckpointWeights.Quantizable(name, e.Shape))
                quantizable += e.ElementCount;
            else
                dense += e.ElementCount;
        }
        return new WeightFootprint(dense, quantizable);
    }
}

/// <summary>
/// Whether the weights fit the memory available before any is read: a refusal names what the weights take as
/// configured, the reserve kept beside them (<see cref="DTypePolicy.Reserve"/>), what is available, and what would fit
/// instead (bf16, int8). Loading holds no second copy of any tensor, so this is what it needs.
/// </summary>
public static class MemoryCheck
{
    private const double GiB = 1024.0 * 1024 * 1024;

    private static bool Fits(long bytes, long available) => bytes + DTypePolicy.Reserve(bytes) <= available;

    /// <returns>The refusal, or null when the weights fit (or the available memory is unknown).</returns>
    public static string? Refusal(string dir, WeightFootprint weights, ScalarType dtype, bool int8, long? availableBytes)
    {
        if (availableBytes is not { } available)
            return null;
        var need = weights.Bytes(dtype, int8);
        if (Fits(need, available))
            return null;
        var what = $"{DTypeChoice.NameOf(dtype)}{(int8 ? " with int8 linear weights" : "")}";
        var message = $"{dir}: the weights take {need / GiB:F1} GiB in {what} and {DTypePolicy.Reserve(need) / GiB:F1} GiB are kept in " +
                      $"reserve beside them, but only {available / GiB:F1} GiB of memory is available";
        (string Setting, long Bytes)[] options =
        [
            ("DType=bfloat16", weights.Bytes(ScalarType.BFloat16, int8)),
            ("Quantize=int8", weights.Bytes(dtype, true)),
            ("DType=bfloat16 and Quantize=int8", weights.Bytes(ScalarType.BFloat16, true)),
        ];
        var fitting = options.Where(o => o.Bytes < need && Fits(o.Bytes, available)).Select(o => $"with {o.Setting} they take {o.Bytes / GiB:F1} GiB, which fits").FirstOrDefault();
        var smallest = options.Min(o => o.Bytes);
        return fitting is not null
            ? $"{message}; {fitting}"
            : $"{message}; nothing fits: free memory or use a machine with at least {(smallest + DTypePolicy.Reserve(smallest)) / GiB:F1} GiB available";
    }
}
