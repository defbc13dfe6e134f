using System.Text.RegularExpressions;
using LlavaCot.Tests;

namespace LlavaCot.Cli.Tests;

public class BenchDecodeCommandTests
{
    [Fact]
    public void Bench_decode_prints_every_dtype_and_batch_against_its_bound_and_the_int8_ratio()
    {
        var (code, output, err) = CliRunner.Run("bench", "decode", Fixtures.MllamaTiny, "--steps", "3");
        Assert.True(code == 0, err);
        Assert.Matches(@"memory read bandwidth: \d+\.\d GB/s", output);
        foreach (var dtype in new[] { "fp32", "fp32 libtorch", "bf16", "bf16 fixed", "bf16 libtorch", "bf16→fp32", "int8", "int4" })
        {
            foreach (var batch in dtype switch { "bf16" => new[] { 1, 4, 8, 16 }, "int4" => [1, 4, 16], _ => [1, 4] })
                Assert.Matches(new Regex($@"(?m)^{dtype}\s+{batch}\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d\d GB\s+\d+\.\d\s+\d+"), output);
        }
        Assert.Matches(@"bf16 decode at 16 rows: \d+\.\d\dx the step at 4 rows, its weight products at \d+ GFLOP/s", output);
        Assert.Matches(@"libtorch's bf16 GEMM with a \[\d+, \d+\] weight at 1/4/16/64/256 rows: \d+/\d+/\d+/\d+/\d+ GFLOP/s \(best of 3\)", output);
        Assert.Matches(@"sampling \(temperature 0\.6, top-p 0\.9, \d+ tokens\): \d+\.\d ms at batch 1, \d+\.\d ms at batch 4; " +
                       @"logits rounded to bf16 \(.*\): \d+\.\d ms at batch 1, \d+\.\d ms at batch 4", output);
        Assert.Matches(@"int8 vs bf16 decode: \d+\.\d\dx at batch 1, \d+\.\d\dx at batch 4", output);
        Assert.Matches(@"int4 vs int8 decode: \d+\.\d\dx at batch 1 \(int8 activations per group of 32\); int4 vs bf16 at batch 4: \d+\.\d\dx", output);
        Assert.Matches(@"prefill of a 256-token prompt \(logits of every position\): fp32 \d+ ms, bf16 \d+ ms, bf16→fp32 \d+ ms, int8 \d+ ms, int4 \d+ ms", output);
        // Every position of the prompt is compared; the tiny model's int8 weights agree on most of them (int4 is measured, not bounded: random weights).
        Assert.Contains("quantization accuracy (the same random weights, a 256-token prompt teacher-forced; top-1 agreement, relative RMS logit error;", output);
        foreach (var what in new[] { "int4 vs bf16, both computed in bf16", "int4 vs bf16 weights, both computed in fp32" })
            Assert.Matches($@"(?m)^  {Regex.Escape(what)}: \d+\.\d % of 256 positions, \d+\.\d\d %$", output);
        foreach (var what in new[] { "int8 vs bf16, both computed in bf16", "int8 vs bf16 weights, both computed in fp32", "for scale: bf16 vs fp32 compute of the same bf16 weights" })
        {
            var accuracy = Regex.Match(output, $@"(?m)^  {Regex.Escape(what)}: (\d+\.\d) % of 256 positions, (\d+\.\d\d) %$");
            Assert.True(accuracy.Success, what + "\n" + output);
            Assert.InRange(double.Parse(accuracy.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 50, 100);
            Assert.InRange(double.Parse(accuracy.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), 0.001, 20);
        }
        Assert.Matches(@"fp32 invariant vs libtorch as called: \d+\.\d\dx at batch 1, \d+\.\d\dx at batch 4", output);
        Assert.Matches(@"bf16 invariant vs libtorch as called: \d+\.\d\dx at batch 1, \d+\.\d\dx at batch 4", output);
        // Every weight shape the decode steps met says which row multiple makes libtorch's GEMM invariant, or none.
        Assert.Matches(@"(?m)^  bfloat16 \[\d+, \d+\]( with bias)?: (multiple \d+|none)$", output);
    }
}
