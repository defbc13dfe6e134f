using LlavaCot.Tests;

namespace LlavaCot.Cli.Tests;

public class DataCommandTests
{
    [Fact]
    public void Data_shapes_writes_images_and_jsonl_the_same_for_a_seed()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var (code, output, err) = CliRunner.Run("data", "shapes", "--out", a.Path, "--count", "5", "--seed", "3");
        Assert.True(code == 0, err + output);
        Assert.Contains("wrote 5 questions", output);
        CliRunner.Run("data", "shapes", "--out", b.Path, "--count", "5", "--seed", "3");
        var lines = File.ReadAllLines(a.File("data.jsonl"));
        Assert.Equal(5, lines.Length);
        Assert.Equal(lines, File.ReadAllLines(b.File("data.jsonl")));
        Assert.Equal(5, Directory.GetFiles(a.File("images"), "*.png").Length);
        var item = System.Text.Json.Nodes.JsonNode.Parse(lines[0])!;
        Assert.True(File.Exists(Path.Combine(a.Path, (string)item["image"]!)));
        Assert.Contains("<CONCLUSION>", (string?)item["response"]);
    }

    [Fact]
    public void Data_needs_a_known_kind_and_an_output_folder()
    {
        var (code, _, err) = CliRunner.Run("data", "faces", "--out", "x");
        Assert.Equal(2, code);
        Assert.Contains("unknown dataset kind 'faces'", err);
        (code, _, err) = CliRunner.Run("data", "shapes", "--count", "3");
        Assert.Equal(2, code);
        Assert.Contains("--out", err);
    }
}
