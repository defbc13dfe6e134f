using System.Globalization;
using System.Text.RegularExpressions;
using LlavaCot.Tests;

namespace LlavaCot.Cli.Tests;

public class BenchVisionCommandTests
{
    [Fact]
    public void Bench_vision_times_fp32_bf16_and_bf16_weights_computed_in_fp32_and_prints_their_ratios()
    {
        var (code, output, err) = CliRunner.Run("bench", "vision", Fixtures.MllamaTiny, "--runs", "1");
        Assert.True(code == 0, err);
        // The tiny config allows 4 tiles of 32 px.
        Assert.Contains("one image of 4 tiles of 32 px", output);
        Assert.Matches(@"cpu flags: .*avx2", output);
        var rows = new[] { @"fp32\s+float32", @"bf16\s+bfloat16", @"fp32\s+bfloat16" }
            .Select(r => Regex.Match(output, $@"(?m)^{r}\s+(\d+\.\d\d)$")).ToList();
        Assert.All(rows, m => Assert.True(m.Success, output));
        Assert.All(rows, m => Assert.True(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) >= 0));
        Assert.Matches(@"bf16 weights computed in fp32 vs fp32: \d+\.\d\dx the time; bf16 vs fp32: \d+\.\d\dx", output);
    }

    [Fact]
    public void Bench_vision_refuses_a_bad_run_count()
    {
        var (code, _, err) = CliRunner.Run("bench", "vision", Fixtures.MllamaTiny, "--runs", "zero");
        Assert.NotEqual(0, code);
        Assert.Contains("--runs", err);
    }
}
