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

    /// <summary>Keeps what had been written at each flush.</summary>
    private sealed class FlushRecorder : StringWriter
    {
        public List<string> Flushed { get; } = [];

        public override void Flush() => Flushed.Add(ToString());
    }

    [Fact]
    public void Each_rows_figures_are_out_before_the_next_measurement_starts()
    {
        var stdout = new FlushRecorder();
        var code = CliApp.Run(["bench", "search", Fixtures.MllamaTiny, "--n", "1,2", "--dtype", "fp32"], stdout, new StringWriter());
        Assert.Equal(0, code);
        // The optimised time of N=1 is out before its naive run, and the whole N=1 row before N=2 is measured.
        Assert.Contains(stdout.Flushed, f => System.Text.RegularExpressions.Regex.IsMatch(f, @"\n1 +[0-9.]+$"));
        Assert.Contains(stdout.Flushed, f => System.Text.RegularExpressions.Regex.IsMatch(f, @"\n1 +[0-9.]+ +[0-9.]+ +[0-9.]+x .*\n$") && !f.Contains("\n2 "));
    }

    [Fact]
    public void Bench_search_rejects_a_bad_beam_size()
    {
        var (code, _, err) = CliRunner.Run("bench", "search", Fixtures.MllamaTiny, "--n", "0");
        Assert.Equal(2, code);
        Assert.Contains("--n", err);
    }
}
