using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>A lookup table; rows are gathered for any id shape, in the compute dtype (the table may be kept narrower).</summary>
public sealed class Embedding : nn.Module
{
    private readonly Parameter weight;
    private readonly ScalarType _dtype;

    public Embedding(WeightScope w, long rows, long width) : base(nameof(Embedding))
    {
        weight = w.Matrix("weight", rows, width);
        _dtype = w.DType;
        RegisterComponents();
    }

    public Tensor Forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var shape = ids.shape.Append(weight.shape[1]).ToArray();
        return weight.index_select(0, ids.reshape(-1)).view(shape).to(_dtype).MoveToOuterDisposeScope();
    }
}
