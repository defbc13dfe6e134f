using LlavaCot.Model.Config;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Text;

/// <summary>The decoder plus its output projection (HF: <c>language_model</c> = model + lm_head).</summary>
public sealed class MllamaForCausalLM : nn.Module
{
    private readonly MllamaTextModel model;
    private readonly Linear lm_head;

    public MllamaForCausalLM(WeightScope w, MllamaTextConfig c, Device device) : base(nameof(MllamaForCausalLM))
    {
        model = new MllamaTextModel(w["model"], c, device);
        lm_head = w.Linear("lm_head", c.HiddenSize, c.VocabSize, bias: false);
        RegisterComponents();
    }

    public MllamaTextModel Model => model;

    /// <summary>Logits in fp32, as HF casts them.</summary>
    public Tensor Logits(Tensor hidden) => lm_head.Forward(hidden).to(ScalarType.Float32);
}
