using static TorchSharp.torch;

namespace LlavaCot.Runtime;

/// <summary>The model cannot be loaded here; the message says why and what would fit.</summary>
public sealed class ModelLoadException(string message) : Exception(message);

/// <summary>
/// Whether the weights fit the memory available before any is read: a refusal names what the weights take in the
/// chosen dtype, the reserve kept beside them (<see cref="DTypePolicy.Reserve"/>), what is available, and which
/// dtype would fit instead. Loading itself holds no second copy of a tensor, so this is what it needs.
/// </summary>
public static class MemoryCheck
{
    private const double GiB = 1024.0 * 1024 * 1024;

    public static long WeightBytes(long parameters, ScalarType dtype) => parameters * (dtype == ScalarType.Float32 ? 4 : 2);

    /// <returns>The refusal, or null when the weights fit (or the available memory is unknown).</returns>
    public static string? Refusal(string dir, long parameters, ScalarType dtype, long? availableBytes)
    {
        if (availableBytes is not { } available)
            return null;
        var need = WeightBytes(parameters, dtype);
        if (need + DTypePolicy.Reserve(need) <= available)
            return null;
        var message = $"{dir}: the weights take {need / GiB:F1} GiB in {DTypeChoice.NameOf(dtype)} and {DTypePolicy.Reserve(need) / GiB:F1} GiB " +
                      $"are kept in reserve beside them, but only {available / GiB:F1} GiB of memory is available";
        var half = WeightBytes(parameters, ScalarType.BFloat16);
        return dtype == ScalarType.Float32 && half + DTypePolicy.Reserve(half) <= available
            ? $"{message}; in bfloat16 they take {half / GiB:F1} GiB, which fits (DType=bfloat16)"
            : $"{message}; no dtype fits: free memory or use a machine with at least {(half + DTypePolicy.Reserve(half)) / GiB:F1} GiB available";
    }
}
