using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Vision;

/// <summary>fc2(gelu(fc1(x))) with biases; gelu is the exact erf form.</summary>
public sealed class VisionMlp : nn.Module
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    public VisionMlp(WeightScope w, long hidden, long intermediate) : base(nameof(VisionMlp))
    {
        fc1 = w.Linear("fc1", hidden, intermediate, bias: true);
        fc2 = w.Linear("fc2", intermediate, hidden, bias: true);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return fc2.Forward(nn.functional.gelu(fc1.Forward(x))).MoveToOuterDisposeScope();
    }
}
