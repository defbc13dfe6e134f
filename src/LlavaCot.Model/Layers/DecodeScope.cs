namespace LlavaCot.Model.Layers;

/// <summary>How a decode step's linear layers run.</summary>
public enum DecodeKernels
{
    /// <summary>
    /// Each row gets the same bits in any company: fp32, int8 and int4 weights through our fixed-order kernels
    /// (<see cref="Fp32Gemv"/>, <see cref="Int8Gemv"/>, <see cref="Int4Gemv"/>), bf16 through libtorch's GEMM padded to a row count measured to
    /// be safe (<see cref="RowInvariantGemm"/>), else <see cref="Bf16Gemv"/>.
    /// </summary>
    Invariant,

    /// <summary>Our fixed-order kernels wherever they apply, bf16 too; for benchmarks.</summary>
    FixedOrder,

    /// <summary>libtorch's GEMM as called, rows not padded: no invariance; for benchmarks.</summary>
    Libtorch,
}

/// <summary>
/// Marks a decode step on the model thread. Its rows come from whatever sequences share the step, so its linear layers
/// run kernels that give each row the same bits whatever the batch (<see cref="DecodeKernels.Invariant"/>); prompts run
/// libtorch's GEMM as is: they only ever hold one request's tokens.
/// </summary>
public static class DecodeScope
{
    /// <summary>The most rows a decode step may hold: every decode kernel is batch-invariant up to there.</summary>
    public const int MaxRows = 64;

    [ThreadStatic]
    private static int _depth;

    /// <summary>Other than <see cref="DecodeKernels.Invariant"/> only to measure what invariance costs (benchmarks).</summary>
    public static DecodeKernels Kernels { get; set; } = DecodeKernels.Invariant;

    public static bool Active => _depth > 0;

    public static Exit Enter()
    {
        _depth++;
        return new Exit();
    }

    public readonly struct Exit : IDisposable
    {
        public void Dispose() => _depth--;
    }
}
