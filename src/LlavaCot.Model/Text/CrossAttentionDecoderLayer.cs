using LlavaCot.Model.Config;
using LlavaCot.Model.Generation;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Text;

/// <summary>
/// Gated cross-attention layer: x + tanh(attn_gate)·attn, then x + tanh(mlp_gate)·(row mask · MLP). The row
/// mask multiplies the MLP branch only (HF 4.45; Meta's code also zeroes the attention branch). Without an
/// image the layer is the identity.
/// </summary>
public sealed class CrossAttentionDecoderLayer : DecoderLayer
{
    private readonly TextCrossAttention cross_attn;
    private readonly TextMlp mlp;
    private readonly RmsNorm input_layernorm;
    private readonly RmsNorm post_attention_layernorm;
    private readonly Parameter cross_attn_attn_gate;
    private readonly Parameter cross_attn_mlp_gate;

    public CrossAttentionDecoderLayer(WeightScope w, MllamaTextConfig c, int layer) : base(nameof(CrossAttentionDecoderLayer))
    {
        cross_attn = new TextCrossAttention(w["cross_attn"], c, layer);
        mlp = new TextMlp(w["mlp"], c.HiddenSize, c.IntermediateSize);
        input_layernorm = new RmsNorm(w["input_layernorm"], c.HiddenSize, c.RmsNormEps);
        post_attention_layernorm = new RmsNorm(w["post_attention_layernorm"], c.HiddenSize, c.RmsNormEps);
        cross_attn_attn_gate = w.Param("cross_attn_attn_gate", 1);
        cross_attn_mlp_gate = w.Param("cross_attn_mlp_gate", 1);
        RegisterComponents();
    }

    public void Precompute(Tensor crossStates, CrossAttentionCache cache) => cross_attn.Precompute(crossStates, cache);

    public override Tensor Forward(Tensor x, DecoderContext context)
    {
        var seeing = context.Seeing;
        if (seeing.Count == 0)
            return x.alias();
        using var scope = NewDisposeScope();
        if (seeing.Count == context.Groups.Count)
            return Gated(x, seeing).MoveToOuterDisposeScope();
        // Rows without an image pass unchanged; the others are gathered, run together, and written back.
        var index = cat(seeing.Select(g => arange(g.Start, g.Start + g.Count, 1, ScalarType.Int64, x.device)).ToList());
        var packed = new List<RowGroup>();
        var start = 0L;
        foreach (var g in seeing)
        {
            packed.Add(g with { Start = start });
            start += g.Count;
        }
        return x.index_copy(0, index, Gated(x.index_select(0, index), packed)).MoveToOuterDisposeScope();
    }

    /// <summary>The layer on rows that all see an image, grouped by the image they see.</summary>
    private Tensor Gated(Tensor x, IReadOnlyList<RowGroup> groups)
    {
        var attended = cross_attn.Forward(input_layernorm.Forward(x), groups);
        x = x.Plus(cross_attn_attn_gate.tanh() * attended);
        // A group's row mask has one row per sequence or one shared by all its sequences.
        var rows = groups.Select(g => g.CrossMask!.RowMask.squeeze(1).expand(g.Count, -1, -1)).ToList();
        var fed = mlp.Forward(post_attention_layernorm.Forward(x)) * RowGroup.Join(rows);
        return x.Plus(cross_attn_mlp_gate.tanh() * fed);
    }
}
