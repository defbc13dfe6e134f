using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// Weight-only int8 quantization, symmetric per output channel: each row of a linear weight is stored as int8 values
/// and one fp32 scale, w ≈ q · scale with scale = max |w_row| / 127 (rows of zeros get scale 1).
/// </summary>
public static class Int8Weights
{
    /// <summary>The name a quantized weight's scales are stored under beside it (as compressed-tensors names them).</summary>
    public static string ScaleName(string weightName) => weightName + "_scale";

    /// <summary>Quantizes a [out, in] weight (any float dtype): int8 [out, in] and fp32 scales [out].</summary>
    public static (Tensor Weight, Tensor Scale) Quantize(Tensor weight)
    {
        using var scope = NewDisposeScope();
        var w = weight.to(ScalarType.Float32);
        var scale = w.abs().amax([1]).div_(127f);
        scale = where(scale.eq(0), ones_like(scale), scale);
        var q = w.div(scale.unsqueeze(1)).round_().clamp_(-127, 127).to(ScalarType.Int8);
        return (q.MoveToOuterDisposeScope(), scale.MoveToOuterDisposeScope());
    }

    /// <summary>The weight the int8 values stand for, in <paramref name="dtype"/>.</summary>
    public static Tensor Dequantize(Tensor weight, Tensor scale, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        return weight.to(ScalarType.Float32).mul_(scale.unsqueeze(1)).to(dtype).MoveToOuterDisposeScope();
    }
}
