using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>nn.LayerNorm with affine weight and bias (PyTorch computes the statistics in fp32 for bf16 inputs).</summary>
public sealed class LayerNorm : nn.Module
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly double _eps;
    private readonly long[] _shape;

    public LayerNorm(WeightScope w, long size, double eps) : base(nameof(LayerNorm))
    {
        weight = w.Param("weight", size);
        bias = w.Param("bias", size);
        _eps = eps;
        _shape = [size];
        RegisterComponents();
    }

    public Tensor Forward(Tensor x) => nn.functional.layer_norm(x, _shape, weight, bias, _eps);
}
