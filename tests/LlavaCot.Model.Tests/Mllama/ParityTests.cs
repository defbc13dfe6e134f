using LlavaCot.Model.Generation;
using LlavaCot.Tests;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Mllama;

/// <summary>Every intermediate and output of the fp32 forward pass against HF 4.45's golden tensors.</summary>
public class ParityTests(TinyModelFixture tiny, ITestOutputHelper output) : IClassFixture<TinyModelFixture>
{
    private const double Atol = 1e-4;

    private static readonly string[] Traced =
    [
        "vision_patch_embeds", "vision_pre_layernorm_out", "vision_attention_mask", "vision_local_hidden_states",
        "vision_post_layernorm_out", "vision_global_out", "vision_model_output", "cross_attention_states",
        "cross_attention_mask_4d", "full_text_row_masked_out_mask", "text_embeddings", "text_layer_outputs",
        "text_last_hidden_state", "logits",
    ];

    [Theory]
    [MemberData(nameof(FixtureCase.TinyNames), MemberType = typeof(FixtureCase))]
    public void Every_traced_tensor_matches_within_1e_4(string caseName)
    {
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, caseName);
        using var inputs = c.Inputs();
        using var trace = new ForwardTrace();
        using (inference_mode())
        using (var scope = NewDisposeScope())
        {
            using var image = ImageContext.Create(tiny.Model, inputs, trace);
            tiny.Model.Prefill(inputs.InputIds, null, image!.Kv, image.Prompt, allLogits: true, trace: trace);
        }
        trace.Stack();
        foreach (var name in Traced)
        {
            Assert.True(trace.Tensors.ContainsKey(name), $"{name} was not traced");
            using var expected = c.Read(name);
            var diff = TensorAssert.Close(expected, trace.Tensors[name], Atol, $"{caseName}/{name}");
            output.WriteLine($"{name}: max abs diff {diff:G3}");
        }
    }
}
