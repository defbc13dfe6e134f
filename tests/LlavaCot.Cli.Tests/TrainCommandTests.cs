using System.Text.Json.Nodes;
using LlavaCot.Tests;

namespace LlavaCot.Cli.Tests;

public class TrainCommandTests
{
    [Fact]
    public void Train_builds_the_architecture_its_options_name_and_writes_a_model_folder()
    {
        using var temp = new TempDir();
        var (code, output, err) = CliRunner.Run("train", "--out", temp.Path, "--steps", "2", "--batch", "2", "--vocab", "300",
            "--threads", "1", "--checkpoint-every", "0", "--mix", "1,0,0,0,0", "--patch", "32", "--vision-hidden", "16", "--vision-layers", "2",
            "--vision-global-layers", "1", "--text-hidden", "32", "--text-layers", "3", "--cross-layers", "1",
            "--on-policy-rounds", "1", "--on-policy-questions", "2", "--on-policy-steps", "1", "--on-policy-max-new-tokens", "4", "--on-policy-workers", "1");
        Assert.True(code == 0, err + output);
        Assert.Contains("on-policy round 1/1: 2 questions searched", output);
        Assert.Contains("training 2 steps of 2", output);
        Assert.Matches(@"2/2 +loss [0-9.]+", output);

        var config = JsonNode.Parse(File.ReadAllText(temp.File("config.json")))!;
        var text = config["text_config"]!;
        var vision = config["vision_config"]!;
        Assert.Equal(32, (int)text["hidden_size"]!);
        Assert.Equal(96, (int)text["intermediate_size"]!);
        Assert.Equal(3, (int)text["num_hidden_layers"]!);
        Assert.Equal([1], text["cross_attention_layers"]!.AsArray().Select(n => (int)n!));
        Assert.Equal(32, (int)vision["patch_size"]!);
        Assert.Equal(16, (int)vision["hidden_size"]!);
        Assert.Equal(2, (int)vision["num_hidden_layers"]!);
        Assert.Equal([0, 1], vision["intermediate_layers_indices"]!.AsArray().Select(n => (int)n!));
        Assert.Equal(48, (int)vision["vision_output_dim"]!);
        Assert.True(new FileInfo(temp.File("model.safetensors")).Length > 0);
        var card = JsonNode.Parse(File.ReadAllText(temp.File("llavacot.json")))!;
        Assert.Equal(Training.Train.DemoCard.Name, (string?)card["name"]);
        Assert.Contains("synthetic shapes", (string?)card["description"]);
        Assert.InRange((int)card["judge_max_new_tokens"]!, 1, 2047);
    }

    [Theory]
    [InlineData("--cross-layers", "3", "--cross-layers: '3' is not a text layer index below 3")]
    [InlineData("--mix", "1,0,0,0", "--mix needs five shares")]
    [InlineData("--patch", "0", "--patch needs a whole number of at least 1")]
    public void Bad_options_are_refused_before_any_work(string option, string value, string message)
    {
        using var temp = new TempDir();
        var (code, output, err) = CliRunner.Run("train", "--out", temp.Path, "--text-layers", "3", option, value);
        Assert.Equal(2, code);
        Assert.Contains(message, err + output);
        Assert.False(File.Exists(temp.File("config.json")));
    }
}
