using System.Globalization;
using static TorchSharp.torch;

namespace LlavaCot.Runtime;

/// <summary>
/// The compute dtype the model runs in, the dtype its linear weights and embedding tables are kept in when narrower
/// (<paramref name="Matrices"/>), and why (logged at start and shown in /v1/models).
/// </summary>
public sealed record DTypeChoice(ScalarType DType, string Reason, ScalarType? Matrices = null)
{
    public ScalarType MatrixDType => Matrices ?? DType;

    public string Name => Describe(DType, MatrixDType);

    /// <summary>"float32", or "bfloat16 weights, float32 compute" when the weights are kept narrower.</summary>
    public static string Describe(ScalarType compute, ScalarType matrices) =>
        compute == matrices ? NameOf(compute) : $"{NameOf(matrices)} weights, {NameOf(compute)} compute";

    /// <summary>The setting's spelling of a dtype (float32, bfloat16).</summary>
    public static string NameOf(ScalarType dtype) => dtype switch
    {
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float32 => "float32",
        _ => dtype.ToString().ToLowerInvariant(),
    };
}

/// <summary>
/// Picks the compute dtype for the <c>DType</c> setting. <c>float32</c> is taken as given, <c>bfloat16</c> too on CUDA
/// and on CPUs with native bf16 dot products. On a CPU without them libtorch emulates bf16 matmuls (the bench config's
/// vision tower took 87.8 s in bf16 against 29.3 s in fp32 on such a CPU), so bf16 weights are kept in bf16 and
/// computed in fp32: decode reads them as kept, prompts and the vision tower widen each weight as they use it.
/// <c>auto</c>: a small model runs in its checkpoint's own dtype; otherwise bf16 on CUDA and on CPUs with native bf16;
/// on a CPU without, fp32 when its weights fit in the available memory with a reserve, else bf16 weights computed in
/// fp32 (the 11B needs ~43 GB in fp32).
/// </summary>
public static class DTypePolicy
{
    /// <summary>At or below this many bytes of fp32 weights a model counts as small.</summary>
    public const long SmallModelBytes = 1L << 30;

    /// <summary>Memory kept free beside the weights: activations, KV caches, the image tower's attention.</summary>
    public static long Reserve(long weightBytes) => Math.Max(2L << 30, weightBytes / 8);

    /// <param name="setting">auto, float32 (fp32, f32) or bfloat16 (bf16).</param>
    /// <param name="bf16Support">auto (from the CPU flags), native or emulated (forces the path without native bf16).</param>
    /// <param name="checkpointDType">The config's torch_dtype, if any.</param>
    /// <param name="parameters">Parameter count of the checkpoint.</param>
    public static DTypeChoice Choose(string setting, string bf16Support, string? checkpointDType, long parameters, bool cuda, HostFacts host)
    {
        var native = cuda || (ParseBf16Support(bf16Support) ?? host.NativeBf16);
        var lacks = "the CPU has no native bf16 (libtorch would emulate it, ~3x slower)" + Forced(bf16Support, "no avx512_bf16/amx_bf16");
        switch (ParseSetting(setting))
        {
            case ScalarType.Float32:
                return new DTypeChoice(ScalarType.Float32, "float32 as configured");
            case ScalarType.BFloat16:
                return native
                    ? new DTypeChoice(ScalarType.BFloat16, "bfloat16 as configured")
                    : new DTypeChoice(ScalarType.Float32, $"bfloat16 weights as configured, computed in float32: {lacks}", ScalarType.BFloat16);
        }
        var fp32Bytes = parameters * 4;
        if (fp32Bytes <= SmallModelBytes)
        {
            var own = checkpointDType?.Trim().ToLowerInvariant() is "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32;
            return new DTypeChoice(own, $"auto: a small model ({Millions(parameters)} parameters) runs in its checkpoint's dtype " +
                                        $"({checkpointDType ?? "not stated, float32"})");
        }
        if (cuda)
            return new DTypeChoice(ScalarType.BFloat16, "auto: bfloat16 on CUDA");
        if (native)
            return new DTypeChoice(ScalarType.BFloat16, "auto: bfloat16, the CPU computes it natively" + Forced(bf16Support, "avx512_bf16/amx_bf16"));
        var need = fp32Bytes + Reserve(fp32Bytes);
        if (host.AvailableMemoryBytes is { } available && need <= available)
            return new DTypeChoice(ScalarType.Float32,
                $"auto: float32, {lacks}, and fp32 weights {Gb(fp32Bytes)} + reserve {Gb(need - fp32Bytes)} fit in {Gb(available)} available");
        var room = host.AvailableMemoryBytes is { } a ? $"do not fit in {Gb(a)} available" : "may not fit (available memory unknown)";
        return new DTypeChoice(ScalarType.Float32,
            $"auto: bfloat16 weights computed in float32: {lacks}, and fp32 weights {Gb(fp32Bytes)} + reserve {Gb(need - fp32Bytes)} {room}",
            ScalarType.BFloat16);
    }

    /// <summary>The DType setting: a dtype, or null for auto; throws naming the value otherwise.</summary>
    public static ScalarType? ParseSetting(string setting) => setting.Trim().ToLowerInvariant() switch
    {
        "auto" => null,
        "float32" or "fp32" or "f32" or "bfloat16" or "bf16" => TorchSettings.ParseDType(setting),
        _ => throw new ArgumentException($"dtype '{setting}' is not one of auto, float32, bfloat16"),
    };

    /// <summary>The Bf16Support setting: whether bf16 is native (forced), or null for auto (from the CPU flags).</summary>
    public static bool? ParseBf16Support(string bf16Support) => bf16Support.Trim().ToLowerInvariant() switch
    {
        "native" => true,
        "emulated" => false,
        "auto" => null,
        _ => throw new ArgumentException($"bf16 support '{bf16Support}' is not one of auto, native, emulated"),
    };

    private static string Forced(string support, string detected) =>
        support.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase) ? $" ({detected})" : $" (Bf16Support={support.Trim()})";

    private static string Gb(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:0.0} GB");

    private static string Millions(long n) => string.Create(CultureInfo.InvariantCulture, $"{n / 1e6:0.#} M");
}
