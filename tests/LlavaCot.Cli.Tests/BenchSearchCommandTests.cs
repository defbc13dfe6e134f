using LlavaCot.Tests;

namespace LlavaCot.Cli.Tests;

public class BenchSearchCommandTests
{
    /// <summary>The bench runs end to end on a small config and prints its figures and ratios (no speed is asserted).</summary>
    [Fact]
    public void Bench_search_prints_its_table_and_ratios()
    {
        var (code, output, err) = CliRunner.Run("bench", "search", Fixtures.MllamaTiny, "--n", "1,2", "--dtype", "fp32");
        Assert.True(code == 0, err + output);
        Assert.Contains("weights read per decode step", output);
        Assert.Matches(@"\n1 +[0-9.]+ +[0-9.]+ +[0-9.]+x", output);
        Assert.Matches(@"\n2 +[0-9.]+ +[0-9.]+ +[0-9.]+x .* +6 +", output);
        Assert.Matches(@"N=2 speed-up: [0-9.]+x", output);
        Assert.Matches(@"N=2 vs single: [0-9.]+x", output);
    }

    [Fact]
    public void Bench_search_rejects_a_bad_beam_size()
    {
        var (code, _, err) = CliRunner.Run("bench", "search", Fixtures.MllamaTiny, "--n", "0");
        Assert.Equal(2, code);
        Assert.Contains("--n", err);
    }
}
