using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// A lookup table; rows are gathered for any id shape, in the compute dtype. The table may be kept narrower, or int8 with
/// one fp32 scale per row (the token embeddings under int4), each gathered row then widened alone.
/// </summary>
public sealed class Embedding : nn.Module
{
    private readonly Parameter? weight;
    private readonly Tensor? weight_int8;
    private readonly Tensor? weight_scale;
    private readonly ScalarType _dtype;

    public Embedding(WeightScope w, long rows, long width) : base(nameof(Embedding))
    {
        if (w.Quantized("weight", rows, width) is { } q)
        {
            if (q.Format != Quantization.Int8)
                throw new InvalidOperationException($"{w.Name("weight")}: a lookup table is kept dense or int8, not {q.Format}");
            (weight_int8, weight_scale) = (q.Values, q.Scale);
        }
        else
            weight = w.Matrix("weight", rows, width);
        _dtype = w.DType;
        RegisterComponents();
    }

    public Tensor Forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var flat = ids.reshape(-1);
        var width = (weight ?? weight_int8)!.shape[1];
        var shape = ids.shape.Append(width).ToArray();
        var rows = weight is not null
            ? weight.index_select(0, flat)
            : weight_int8!.index_select(0, flat).to(ScalarType.Float32).mul_(weight_scale!.index_select(0, flat).unsqueeze(1));
        return rows.view(shape).to(_dtype).MoveToOuterDisposeScope();
    }
}
