using LlavaCot.Model.Config;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Vision;

/// <summary>Pre-norm transformer layer; global layers scale both branches by tanh of a learnt gate.</summary>
public sealed class VisionEncoderLayer : nn.Module
{
    private readonly VisionAttention self_attn;
    private readonly VisionMlp mlp;
    private readonly LayerNorm input_layernorm;
    private readonly LayerNorm post_attention_layernorm;
    private readonly Parameter? gate_attn;
    private readonly Parameter? gate_ffn;

    public VisionEncoderLayer(WeightScope w, MllamaVisionConfig c, bool gated) : base(nameof(VisionEncoderLayer))
    {
        self_attn = new VisionAttention(w["self_attn"], c.HiddenSize, c.AttentionHeads);
        mlp = new VisionMlp(w["mlp"], c.HiddenSize, c.IntermediateSize);
        input_layernorm = new LayerNorm(w["input_layernorm"], c.HiddenSize, c.NormEps);
        post_attention_layernorm = new LayerNorm(w["post_attention_layernorm"], c.HiddenSize, c.NormEps);
        if (gated)
        {
            gate_attn = w.Param("gate_attn", 1);
            gate_ffn = w.Param("gate_ffn", 1);
        }
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var attended = self_attn.Forward(input_layernorm.Forward(x), mask);
        if (gate_attn is not null)
            attended = gate_attn.tanh() * attended;
        x = x.Plus(attended);
        var fed = mlp.Forward(post_attention_layernorm.Forward(x));
        if (gate_ffn is not null)
            fed = gate_ffn.tanh() * fed;
        return x.Plus(fed).MoveToOuterDisposeScope();
    }
}
