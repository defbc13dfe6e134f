using System.Text.Json;
using LlavaCot.Model.IO;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Cli.Tests;

public class PreprocessCommandTests
{
    private static JsonElement TinyImages() =>
        JsonDocument.Parse(File.ReadAllText(Fixtures.Path("mllama-tiny", "manifest.json"))).RootElement.GetProperty("images");

    [Fact]
    public void Preprocess_prints_the_layout_and_writes_the_fixture_tensors()
    {
        var (name, info) = TinyImages().EnumerateObject().Select(p => (p.Name, p.Value)).First();
        var image = Fixtures.Path("mllama-tiny", info.GetProperty("file").GetString()!);
        using var tmp = new TempDir();
        var output = tmp.File("out.safetensors");

        var (code, stdout, err) = CliRunner.Run("preprocess", Fixtures.MllamaTiny, image, "--out", output);

        Assert.True(code == 0, err);
        var resized = info.GetProperty("resized_hw");
        var grid = info.GetProperty("tiles_hw");
        Assert.Contains($"original: {info.GetProperty("width")}×{info.GetProperty("height")}\n", stdout);
        Assert.Contains($"resized: {resized[1]}×{resized[0]}\n", stdout);
        Assert.Contains($"tiles: {grid[0]}×{grid[1]} (rows×cols)", stdout);
        Assert.Contains($"aspect_ratio_id: {info.GetProperty("aspect_ratio_id")}\n", stdout);

        using var scope = NewDisposeScope();
        using var written = SafetensorsFile.Open(output);
        using var golden = SafetensorsFile.Open(Fixtures.Path("mllama-tiny", "preprocess", name + ".safetensors"));
        string[] names = ["resized_u8", "pixel_values", "aspect_ratio_ids", "aspect_ratio_mask", "num_tiles"];
        Assert.Equal(names.Order(), written.Entries.Select(e => e.Name).Order());
        foreach (var tensor in names)
            TensorAssert.Equal(golden.Read(tensor), written.Read(tensor), tensor);
    }

    [Fact]
    public void A_file_that_is_not_an_image_fails_with_a_message()
    {
        using var tmp = new TempDir();
        var bogus = tmp.File("notes.png");
        File.WriteAllText(bogus, "hello, not a picture");
        var (code, _, err) = CliRunner.Run("preprocess", Fixtures.MllamaTiny, bogus);
        Assert.Equal(1, code);
        Assert.Contains("error: not an image (unknown format)", err);
    }

    [Fact]
    public void A_missing_image_argument_prints_usage()
    {
        var (code, _, err) = CliRunner.Run("preprocess", Fixtures.MllamaTiny);
        Assert.Equal(2, code);
        Assert.Contains("missing <image>", err);
    }

    [Fact]
    public void Bench_preprocess_reports_best_median_and_the_target()
    {
        var (code, stdout, err) = CliRunner.Run("bench", "preprocess", Fixtures.Path("mllama-bench-config"), "--runs", "1");
        Assert.True(code == 0, err);
        Assert.Contains("input: synthetic 4032×3024 JPEG", stdout);
        Assert.Matches(@"output: 1120×840 resized, 2×2 tiles, aspect_ratio_id 6", stdout);
        Assert.Matches(@"total: +best +\d+\.\d ms, median +\d+\.\d ms", stdout);
        Assert.Matches(@"target: median ≤ 600 ms (met|NOT met)", stdout);
        (code, _, err) = CliRunner.Run("bench", "preprocess", "--runs", "0");
        Assert.Equal(2, code);
        Assert.Contains("--runs", err);
    }
}
