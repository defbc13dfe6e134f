using LlavaCot.Tests;

namespace LlavaCot.Cli.Tests;

public class ReasonCommandTests
{
    private static readonly string Image = Fixtures.Path("mllama-tiny", "images", "img0_50x30_rgb.png");

    [Fact]
    public void Reason_prints_every_stage_and_the_answer()
    {
        var (code, output, err) = CliRunner.Run("reason", Fixtures.MllamaTiny, Image, "What is this?", "--n", "2", "--seed", "4", "--max-new-tokens", "6");
        Assert.True(code == 0, err + output);
        foreach (var stage in new[] { "summary", "caption", "reasoning", "conclusion" })
            Assert.Contains($"== {stage} (2 candidates)", output);
        Assert.Matches(@"== answer \(\d+ tokens, \d+ judge calls", output);
        Assert.Contains("[stage_beam, beam 2, seed 4,", output);
    }

    [Fact]
    public void Reason_rejects_an_unknown_mode_and_a_bad_beam()
    {
        var (code, _, err) = CliRunner.Run("reason", Fixtures.MllamaTiny, Image, "q", "--mode", "greedy");
        Assert.Equal(2, code);
        Assert.Contains("--mode 'greedy'", err);
        (code, _, err) = CliRunner.Run("reason", Fixtures.MllamaTiny, Image, "q", "--n", "40");
        Assert.Equal(1, code);
        Assert.Contains("beam_size", err);
    }
}
