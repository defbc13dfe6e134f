namespace LlavaCot.Model.Layers;

/// <summary>
/// Marks a decode step on the model thread. Its rows come from whatever sequences share the step, so its linear layers
/// run our fixed-order kernels (<see cref="Bf16Gemv"/>, <see cref="Int8Gemv"/>), which reduce every row the same way
/// whatever the batch; prompts run libtorch's GEMM, much faster over many rows and only ever over one request's tokens.
/// </summary>
public static class DecodeScope
{
    [ThreadStatic]
    private static int _depth;

    /// <summary>Off only to measure what the fixed-order kernels cost (benchmarks): decode then runs libtorch's GEMM too.</summary>
    public static bool FixedOrderKernels { get; set; } = true;

    public static bool Active => _depth > 0 && FixedOrderKernels;

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
