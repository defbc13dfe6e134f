using LlavaCot.Model.Config;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Text;

/// <summary>Causal GQA self-attention with rotary positions; keys and values go to the cache.</summary>
public sealed class TextSelfAttention : nn.Module
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear o_proj;
    private readonly int _layer;
    private readonly long _heads;
    private readonly long _kvHeads;
    private readonly long _headDim;

    public TextSelfAttention(WeightScope w, MllamaTextConfig c, int layer) : base(nameof(TextSelfAttention))
    {
        (_layer, _heads, _kvHeads, _headDim) = (layer, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim);
        q_proj = w.Linear("q_proj", c.HiddenSize, _heads * _headDim, bias: false);
        k_proj = w.Linear("k_proj", c.HiddenSize, _kvHeads * _headDim, bias: false);
        v_proj = w.Linear("v_proj", c.HiddenSize, _kvHeads * _headDim, bias: false);
        o_proj = w.Linear("o_proj", _heads * _headDim, c.HiddenSize, bias: false);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, DecoderContext ctx)
    {
        using var scope = NewDisposeScope();
        var (b, n) = (x.shape[0], x.shape[1]);
        var q = q_proj.Forward(x).view(b, n, _heads, _headDim).transpose(1, 2);
        var k = k_proj.Forward(x).view(b, n, _kvHeads, _headDim).transpose(1, 2);
        var v = v_proj.Forward(x).view(b, n, _kvHeads, _headDim).transpose(1, 2);
        q = RotaryEmbedding.Apply(q, ctx.Cos, ctx.Sin);
        k = RotaryEmbedding.Apply(k, ctx.Cos, ctx.Sin);
        // Each group attends to its own cache; the projections above and below run over every row at once.
        var attended = ctx.Groups.Select(g =>
        {
            var (gk, gv) = (g.Rows(k), g.Rows(v));
            if (g.Cache is not null)
                (gk, gv) = g.Cache.Append(_layer, gk, gv);
            return Attention.Forward(g.Rows(q), gk, gv, g.SelfMask, g.Causal);
        }).ToList();
        return o_proj.Forward(RowGroup.Join(attended)).MoveToOuterDisposeScope();
    }
}
