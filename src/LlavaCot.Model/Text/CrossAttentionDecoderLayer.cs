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
        if (context.CrossKv is null || context.CrossMask is null)
            return x.alias();
        using var scope = NewDisposeScope();
        var attended = cross_attn.Forward(input_layernorm.Forward(x), context.CrossKv, context.CrossMask);
        x = x + cross_attn_attn_gate.tanh() * attended;
        var fed = mlp.Forward(post_attention_layernorm.Forward(x)) * context.CrossMask.RowMask.squeeze(1);
        return (x + cross_attn_mlp_gate.tanh() * fed).MoveToOuterDisposeScope();
    }
}
