using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// y = x Wᵀ + b over the last axis. Inputs are flattened to 2-D first: libtorch's bf16 GEMM takes a slow path
/// (about 50× slower, measured) for a 3-D input whose leading stride is unusual, such as the last position
/// narrowed out of a prompt. A few rows against bf16 weights (a decode step) go to <see cref="Bf16Gemv"/>.
/// </summary>
public sealed class Linear : nn.Module
{
    private readonly Parameter weight;
    private readonly Parameter? bias;

    public Linear(Parameter weight, Parameter? bias) : base(nameof(Linear))
    {
        this.weight = weight;
        this.bias = bias;
        RegisterComponents();
    }

    public Tensor Forward(Tensor x)
    {
        var shape = x.shape;
        using var flat = x.reshape(-1, shape[^1]);
        using var y = Bf16Gemv.Handles(flat, weight) ? Bf16Gemv.Forward(flat, weight, bias) : nn.functional.linear(flat, weight, bias);
        return y.view([.. shape[..^1], weight.shape[0]]);
    }
}
