using LlavaCot.Model;
using LlavaCot.Model.IO;
using LlavaCot.Model.Layers;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Cli.Tests;

public class QuantizeCommandTests
{
    [Fact]
    public void A_quantized_folder_holds_int8_weights_with_scales_and_loads_as_the_int8_model_does()
    {
        using var dir = new TempDir();
        var output = Path.Combine(dir.Path, "int8");
        var (code, text, err) = CliRunner.Run("quantize", Fixtures.MllamaTiny, output);
        Assert.True(code == 0, err);
        Assert.Contains("linear weights to int8", text);

        using (var made = Checkpoint.Open(output))
        {
            var int8 = made.Names.Where(n => made.Entry(n).DType == "I8").ToList();
            Assert.NotEmpty(int8);
            Assert.All(int8, n => Assert.True(n.StartsWith("language_model.model.layers.", StringComparison.Ordinal) || n is "multi_modal_projector.weight" or "language_model.lm_head.weight", n));
            Assert.Contains("language_model.lm_head.weight", int8);
            Assert.All(int8, n => Assert.Equal([made.Entry(n).Shape[0]], made.Entry(n + "_scale").Shape));
            Assert.Contains(made.Names, n => n.StartsWith("vision_model.", StringComparison.Ordinal) && made.Entry(n).DType == "F32");
        }

        // Loaded with no setting it is int8, and computes what quantizing while loading computes.
        using var stored = MllamaModel.Load(output);
        using var onTheFly = MllamaModel.Load(Fixtures.MllamaTiny, quantize: Quantization.Int8);
        using var mode = inference_mode();
        using var ids = arange(3, 15, 1, ScalarType.Int64).view(1, -1);
        using var la = stored.Prefill(ids, null, null, null, allLogits: true);
        using var lb = onTheFly.Prefill(ids, null, null, null, allLogits: true);
        Assert.True(la.equal(lb).all().item<bool>());
    }

    [Fact]
    public void A_4_bit_folder_holds_codes_with_fp16_group_scales_its_head_int8_and_loads_as_int4_without_a_setting()
    {
        using var dir = new TempDir();
        var output = Path.Combine(dir.Path, "int4");
        var (code, text, err) = CliRunner.Run("quantize", Fixtures.MllamaTiny, output, "--bits", "4");
        Assert.True(code == 0, err);
        Assert.Contains("linear weights to int4", text);

        using (var made = Checkpoint.Open(output))
        {
            var codes = made.Names.Where(n => made.Entry(n).DType == "U8").ToList();
            Assert.Contains("multi_modal_projector.weight", codes);
            Assert.All(codes, n => Assert.StartsWith("F16", made.Entry(n + "_scale").DType));
            using var source = Checkpoint.Open(Fixtures.MllamaTiny);
            Assert.All(codes, n =>
            {
                var (rows, cols) = (source.Entry(n).Shape[0], source.Entry(n).Shape[1]);
                Assert.Equal([rows, (cols + 31) / 32 * 16], made.Entry(n).Shape);
                Assert.Equal([rows, (cols + 31) / 32], made.Entry(n + "_scale").Shape);
            });
            Assert.Equal("I8", made.Entry("language_model.lm_head.weight").DType);
            // The token embeddings too, a scale per row.
            Assert.Equal("I8", made.Entry("language_model.model.embed_tokens.weight").DType);
            Assert.Equal([made.Entry("language_model.model.embed_tokens.weight").Shape[0]], made.Entry("language_model.model.embed_tokens.weight_scale").Shape);
        }

        using var stored = MllamaModel.Load(output);
        Assert.Equal(Quantization.Int4, stored.Quantization);
        using var onTheFly = MllamaModel.Load(Fixtures.MllamaTiny, quantize: Quantization.Int4);
        using var mode = inference_mode();
        using var ids = arange(3, 15, 1, ScalarType.Int64).view(1, -1);
        using var la = stored.Prefill(ids, null, null, null, allLogits: true);
        using var lb = onTheFly.Prefill(ids, null, null, null, allLogits: true);
        Assert.True(la.equal(lb).all().item<bool>());

        var (again, _, refusal) = CliRunner.Run("quantize", output, Path.Combine(dir.Path, "twice"), "--bits", "4");
        Assert.Equal(2, again);
        Assert.Contains("quantized already", refusal);
    }
}
