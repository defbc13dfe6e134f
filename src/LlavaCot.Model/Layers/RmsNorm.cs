using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>Llama RMSNorm as HF computes it: normalise in fp32, cast back, then scale in the input dtype.</summary>
public sealed class RmsNorm : nn.Module
{
    private readonly Parameter weight;
    private readonly double _eps;

    public RmsNorm(WeightScope w, long size, double eps) : base(nameof(RmsNorm))
    {
        weight = w.Param("weight", size);
        _eps = eps;
        RegisterComponents();
    }

    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var xf = x.to(ScalarType.Float32);
        var normed = xf * xf.pow(Scalars.Of(2)).mean([-1], keepdim: true).PlusInPlace(_eps).rsqrt_();
        return (weight * normed.to(x.dtype)).MoveToOuterDisposeScope();
    }
}
