using System.Text.Json;
using LlavaCot.Model.IO;
using LlavaCot.Runtime;
using LlavaCot.Tests;

namespace LlavaCot.Cli.Tests;

public class MakeRandomCommandTests
{
    [Fact]
    public async Task A_sharded_random_folder_has_every_tensor_of_the_config_and_loads_and_answers()
    {
        using var dir = new TempDir();
        var output = Path.Combine(dir.Path, "random");
        var (code, text, err) = CliRunner.Run("make-random", Fixtures.MllamaTiny, output, "--shards", "3", "--dtype", "bf16", "--seed", "5");
        Assert.True(code == 0, err);
        Assert.Contains("shard 3/3", text);

        // Shards and index as Hugging Face writes them, every tensor of the real checkpoint with its shape, in bf16.
        var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, Checkpoint.IndexFileName))).RootElement;
        Assert.Equal(["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"],
            index.GetProperty("weight_map").EnumerateObject().Select(p => p.Value.GetString()).Distinct().Order());
        using (var made = Checkpoint.Open(output))
        using (var real = Checkpoint.Open(Fixtures.MllamaTiny))
        {
            Assert.Equal(real.Names.Order(StringComparer.Ordinal), made.Names.Order(StringComparer.Ordinal));
            Assert.All(real.Names, n => Assert.Equal(real.Entry(n).Shape, made.Entry(n).Shape));
            Assert.All(made.Names, n => Assert.Equal("BF16", made.Entry(n).DType));
            Assert.Equal(index.GetProperty("metadata").GetProperty("total_size").GetInt64(), made.Names.Sum(n => made.Entry(n).ByteLength));
        }

        // The loader serves it, and the same seed writes the same bytes.
        using var host = await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = output, Device = "cpu" });
        Assert.Empty(host.Model.UnusedWeights);
        var again = Path.Combine(dir.Path, "again");
        Assert.Equal(0, CliRunner.Run("make-random", Fixtures.MllamaTiny, again, "--shards", "3", "--dtype", "bf16", "--seed", "5").Code);
        foreach (var file in Directory.GetFiles(output, "*.safetensors"))
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(again, Path.GetFileName(file))));
    }

    [Fact]
    public void It_refuses_a_folder_that_is_not_empty_and_a_config_without_a_tokenizer()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "keep.txt"), "mine");
        var (code, _, err) = CliRunner.Run("make-random", Fixtures.MllamaTiny, dir.Path);
        Assert.Equal(2, code);
        Assert.Contains("not empty", err);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(dir.Path, "keep.txt")));

        var (code2, _, err2) = CliRunner.Run("make-random", Fixtures.Path("mllama-bench-config"), Path.Combine(dir.Path, "x"));
        Assert.Equal(1, code2);
        Assert.Contains("no tokenizer", err2);
    }
}
