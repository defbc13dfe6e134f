using System.Text.Json;
using System.Text.RegularExpressions;
using LlavaCot.Tests;

namespace LlavaCot.Cli.Tests;

public class InspectCommandTests
{
    [Fact]
    public void Inspect_prints_tensor_count_parameters_and_dtype_bytes()
    {
        var (code, output, err) = CliRunner.Run("inspect", Fixtures.MllamaTiny);
        Assert.True(code == 0, err);
        var files = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("mllama-tiny", "manifest.json")))
            .RootElement.GetProperty("files");
        var weights = files.GetProperty("model.safetensors").GetProperty("tensors");
        var count = weights.EnumerateObject().Count();
        var parameters = weights.EnumerateObject()
            .Sum(t => t.Value[1].EnumerateArray().Aggregate(1L, (a, d) => a * d.GetInt64()));
        Assert.Contains($"tensors: {count}\n", output);
        Assert.Contains($"parameters: {parameters:N0}\n", output);
        Assert.Matches(new Regex($@"F32: {count} tensors, {parameters * 4:N0} bytes"), output);
        Assert.Contains("cross-attention at 1, 3", output);
    }

    [Fact]
    public void Inspect_of_a_sharded_folder_verifies_the_index()
    {
        var (code, output, err) = CliRunner.Run("inspect", Fixtures.Path("mllama-tiny", "sharded"));
        Assert.True(code == 0, err);
        Assert.Contains("(2 files)", output);
        Assert.Matches(@"index: all \d+ tensors present in their shards", output);
    }

    [Fact]
    public void Inspect_of_a_named_weights_file_reports_its_dtype()
    {
        var (code, output, err) = CliRunner.Run("inspect", Fixtures.MllamaTiny, "--weights", "model.bf16.safetensors");
        Assert.True(code == 0, err);
        Assert.Contains("weights: model.bf16.safetensors", output);
        Assert.Matches(@"BF16: \d+ tensors", output);
    }

    [Fact]
    public void Inspect_of_a_folder_without_a_model_fails_with_a_message()
    {
        using var tmp = new TempDir();
        var (code, _, err) = CliRunner.Run("inspect", tmp.Path);
        Assert.Equal(1, code);
        Assert.Contains("config.json", err);
    }

    [Fact]
    public void Unknown_command_and_missing_argument_print_usage()
    {
        var (code, _, err) = CliRunner.Run("frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("usage: llavacot", err);
        (code, _, err) = CliRunner.Run("inspect");
        Assert.Equal(2, code);
        Assert.Contains("missing <model dir>", err);
    }
}
