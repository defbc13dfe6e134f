using LlavaCot.Model.Config;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Text;

/// <summary>Llama 3.1 decoder layer: pre-RMSNorm self-attention and SwiGLU MLP, each with a residual.</summary>
public sealed class SelfAttentionDecoderLayer : DecoderLayer
{
    private readonly TextSelfAttention self_attn;
    private readonly TextMlp mlp;
    private readonly RmsNorm input_layernorm;
    private readonly RmsNorm post_attention_layernorm;

    public SelfAttentionDecoderLayer(WeightScope w, MllamaTextConfig c, int layer) : base(nameof(SelfAttentionDecoderLayer))
    {
        self_attn = new TextSelfAttention(w["self_attn"], c, layer);
        mlp = new TextMlp(w["mlp"], c.HiddenSize, c.IntermediateSize);
        input_layernorm = new RmsNorm(w["input_layernorm"], c.HiddenSize, c.RmsNormEps);
        post_attention_layernorm = new RmsNorm(w["post_attention_layernorm"], c.HiddenSize, c.RmsNormEps);
        RegisterComponents();
    }

    public override Tensor Forward(Tensor x, DecoderContext context)
    {
        using var scope = NewDisposeScope();
        x = x.Plus(self_attn.Forward(input_layernorm.Forward(x), context));
        return x.Plus(mlp.Forward(post_attention_layernorm.Forward(x))).MoveToOuterDisposeScope();
    }
}
