using LlavaCot.Model.Config;
using LlavaCot.Model.Generation;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Text;

/// <summary>Text queries attend to image tokens; per-head RMSNorm on q and k, no rotary positions.</summary>
public sealed class TextCrossAttention : nn.Module
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear o_proj;
    private readonly RmsNorm q_norm;
    private readonly RmsNorm k_norm;
    private readonly int _layer;
    private readonly long _heads;
    private readonly long _kvHeads;
    private readonly long _headDim;

    public TextCrossAttention(WeightScope w, MllamaTextConfig c, int layer) : base(nameof(TextCrossAttention))
    {
        (_layer, _heads, _kvHeads, _headDim) = (layer, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim);
        q_proj = w.Linear("q_proj", c.HiddenSize, _heads * _headDim, bias: false);
        k_proj = w.Linear("k_proj", c.HiddenSize, _kvHeads * _headDim, bias: false);
        v_proj = w.Linear("v_proj", c.HiddenSize, _kvHeads * _headDim, bias: false);
        o_proj = w.Linear("o_proj", _heads * _headDim, c.HiddenSize, bias: false);
        q_norm = new RmsNorm(w["q_norm"], _headDim, c.RmsNormEps);
        k_norm = new RmsNorm(w["k_norm"], _headDim, c.RmsNormEps);
        RegisterComponents();
    }

    /// <summary>Projects the image states [B, K, hidden] to this layer's keys and values and stores them.</summary>
    public void Precompute(Tensor crossStates, CrossAttentionCache cache)
    {
        using var scope = NewDisposeScope();
        var (b, len) = (crossStates.shape[0], crossStates.shape[1]);
        var k = k_proj.Forward(crossStates).view(b, len, _kvHeads, _headDim).transpose(1, 2);
        var v = v_proj.Forward(crossStates).view(b, len, _kvHeads, _headDim).transpose(1, 2);
        cache.Set(_layer, k_norm.Forward(k).contiguous(), v.contiguous());
    }

    /// <param name="groups">Rows of <paramref name="x"/> by the image they see, in order and covering every row.</param>
    public Tensor Forward(Tensor x, IReadOnlyList<RowGroup> groups)
    {
        using var scope = NewDisposeScope();
        var (b, n) = (x.shape[0], x.shape[1]);
        var q = q_norm.Forward(q_proj.Forward(x).view(b, n, _heads, _headDim).transpose(1, 2));
        var attended = groups.Select(g =>
        {
            var (k, v) = g.CrossKv!.Get(_layer);
            return Attention.Forward(g.Rows(q), k, v, g.CrossMask!.Additive, causal: false);
        }).ToList();
        return o_proj.Forward(RowGroup.Join(attended)).MoveToOuterDisposeScope();
    }
}
