using LlavaCot.Model;
using LlavaCot.Model.IO;
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
        using var onTheFly = MllamaModel.Load(Fixtures.MllamaTiny, int8: true);
        using var mode = inference_mode();
        using var ids = arange(3, 15, 1, ScalarType.Int64).view(1, -1);
        using var la = stored.Prefill(ids, null, null, null, allLogits: true);
        using var lb = onTheFly.Prefill(ids, null, null, null, allLogits: true);
        Assert.True(la.equal(lb).all().item<bool>());
    }
}
