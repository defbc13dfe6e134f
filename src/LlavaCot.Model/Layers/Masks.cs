using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>Additive attention masks use the dtype's most negative finite value, as HF does, not -inf.</summary>
public static class Masks
{
    public static double MinValue(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => float.MinValue,
        ScalarType.Float64 => double.MinValue,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float16 => -65504.0,
        _ => throw new ArgumentException($"no additive mask value for {dtype}"),
    };

    /// <summary>Causal mask for n new queries after <paramref name="past"/> cached keys: [1, 1, n, past + n].</summary>
    public static Tensor Causal(long n, long past, ScalarType dtype, Device device) =>
        full(n, past + n, Scalars.Of(MinValue(dtype)), dtype, device).triu_(past + 1).view(1, 1, n, past + n);
}
