using LlavaCot.Tests;

namespace LlavaCot.Cli.Tests;

public class VerifyFixtureCommandTests
{
    [Fact]
    public void Tiny_fixture_verifies_ok_with_a_line_per_tensor()
    {
        var (code, output, err) = CliRunner.Run("verify-fixture", Fixtures.MllamaTiny);
        Assert.True(code == 0, err + output);
        Assert.EndsWith("fixture OK", output.TrimEnd());
        foreach (var name in new[] { "logits", "vision_model_output", "text_layer_outputs", "generation_step_logits", "logits_bf16_weights" })
            Assert.Matches($@"case0 {name}: max abs diff [0-9.Ee+-]+\n", output);
        Assert.Contains("case1 generated_new_ids: 0 of ", output);
    }

    [Fact]
    public void Damaged_weights_fail_the_verification()
    {
        using var tmp = new TempDir();
        var src = Fixtures.MllamaTiny;
        File.Copy(Path.Combine(src, "config.json"), tmp.File("config.json"));
        Directory.CreateDirectory(tmp.File("cases"));
        File.Copy(Path.Combine(src, "cases", "case0.safetensors"), Path.Combine(tmp.Path, "cases", "case0.safetensors"));
        var weights = File.ReadAllBytes(Path.Combine(src, "model.safetensors"));
        // Zero the last quarter of the data section: the weights stored there no longer match the goldens.
        Array.Clear(weights, weights.Length * 3 / 4, weights.Length / 4);
        File.WriteAllBytes(tmp.File("model.safetensors"), weights);

        var (code, output, _) = CliRunner.Run("verify-fixture", tmp.Path);
        Assert.Equal(1, code);
        Assert.Contains("FAILED", output);
        Assert.EndsWith("fixture FAILED", output.TrimEnd());
    }

    [Fact]
    public void Folder_without_cases_is_an_error()
    {
        using var tmp = new TempDir();
        var (code, _, err) = CliRunner.Run("verify-fixture", tmp.Path);
        Assert.Equal(1, code);
        Assert.Contains("no cases", err);
    }
}
