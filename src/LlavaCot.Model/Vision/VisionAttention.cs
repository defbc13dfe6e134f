using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Vision;

/// <summary>Multi-head self-attention over all tiles of an image at once, no biases.</summary>
public sealed class VisionAttention : nn.Module
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear o_proj;
    private readonly long _heads;
    private readonly long _headDim;

    public VisionAttention(WeightScope w, long hidden, long heads) : base(nameof(VisionAttention))
    {
        q_proj = w.Linear("q_proj", hidden, hidden, bias: false);
        k_proj = w.Linear("k_proj", hidden, hidden, bias: false);
        v_proj = w.Linear("v_proj", hidden, hidden, bias: false);
        o_proj = w.Linear("o_proj", hidden, hidden, bias: false);
        _heads = heads;
        _headDim = hidden / heads;
        RegisterComponents();
    }

    /// <param name="x">[B, N, D]</param>
    /// <param name="mask">additive [B, 1, N, N]</param>
    public Tensor Forward(Tensor x, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var (b, n) = (x.shape[0], x.shape[1]);
        Tensor Heads(Linear proj) => proj.Forward(x).view(b, n, _heads, _headDim).transpose(1, 2);
        var attended = Attention.Forward(Heads(q_proj), Heads(k_proj), Heads(v_proj), mask, causal: false);
        return o_proj.Forward(attended).MoveToOuterDisposeScope();
    }
}
