using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Text;

/// <summary>SwiGLU: down(silu(gate(x)) · up(x)), no biases.</summary>
public sealed class TextMlp : nn.Module
{
    private readonly Linear gate_proj;
    private readonly Linear up_proj;
    private readonly Linear down_proj;

    public TextMlp(WeightScope w, long hidden, long intermediate) : base(nameof(TextMlp))
    {
        gate_proj = w.Linear("gate_proj", hidden, intermediate, bias: false);
        up_proj = w.Linear("up_proj", hidden, intermediate, bias: false);
        down_proj = w.Linear("down_proj", intermediate, hidden, bias: false);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var gated = nn.functional.silu(gate_proj.Forward(x)).mul_(up_proj.Forward(x));
        return down_proj.Forward(gated).MoveToOuterDisposeScope();
    }
}
