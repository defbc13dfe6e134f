using System.Text.RegularExpressions;
using LlavaCot.Model.Layers;
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
        // The tiny config's vocabulary is too small for the Llama 3 tokenizer: bytes, and the figures say so.
        Assert.Contains("tokenizer: byte-level (the config's vocabulary is smaller than the Llama 3 tokenizer's)", output);
        Assert.Contains("not comparable to the README's", output);
    }

    /// <summary>
    /// With the verifier the search scores candidates instead of judging them; each run measures a single pass, the
    /// search and the judge-free floor (its scorer answering at once), and the ratios are medians over the runs.
    /// </summary>
    [Fact]
    public void Bench_search_with_the_verifier_prints_its_ratio_to_single_and_the_judge_free_floor()
    {
        var (code, output, err) = CliRunner.Run("bench", "search", Fixtures.MllamaTiny, "--n", "2", "--dtype", "fp32", "--scorer", "verifier",
            "--runs", "2", "--no-naive");
        Assert.True(code == 0, err + output);
        // The verifier row: no naive run, no judge call, 8 scores at most (4 stages of 2 candidates; identical ones are scored once).
        var rows = Regex.Matches(output, @"\n2 +[0-9.]+ +- +- +[0-9.]+ +[0-9.]+ +0 +(\d+) +[0-9.]+ +([1-8]) +verifier +([12])\n");
        Assert.Equal(["1", "2"], rows.Select(m => m.Groups[3].Value));
        var floors = Regex.Matches(output, @"\n2 +[0-9.]+ +- +- +- +- +- +(\d+) +[0-9.]+ +- +floor +[12]\n");
        Assert.Equal(2, floors.Count);
        // The floor makes no model call to score: it prefills only the stages' prompts, the verifier also its prompts.
        Assert.True(int.Parse(floors[0].Groups[1].Value) < int.Parse(rows[0].Groups[1].Value), output);
        Assert.Matches(@"verifier batches [0-9.]+ s \([1-9]\d* tokens\)", output);
        Assert.Equal(2, Regex.Matches(output, @"single pass of 256 tokens: [0-9.]+ s \(run [12]\)").Count);
        Assert.Matches(@"N=2 judge-free floor: [0-9.]+ s, [0-9.]+x single, median of 2 runs: [0-9.]+, [0-9.]+ \(spread [0-9.]+x\)", output);
        Assert.Matches(@"N=2 vs single: [0-9.]+x \(verifier\), median of 2 runs: [0-9.]+, [0-9.]+ \(spread [0-9.]+x\)", output);
        Assert.DoesNotContain("speed-up:", output);
    }

    [Fact]
    public void Bench_search_compares_both_scorers_in_one_run_and_refuses_an_unknown_one()
    {
        var (code, output, err) = CliRunner.Run("bench", "search", Fixtures.MllamaTiny, "--n", "2", "--dtype", "fp32", "--scorer", "pairwise,verifier");
        Assert.True(code == 0, err + output);
        Assert.Matches(@"\n2 +[0-9.]+ +[0-9.]+ +[0-9.]+x .* +6 +\d+ +[0-9.]+ +0 +pairwise +1\n", output);
        Assert.Matches(@"\n2 +[0-9.]+ +[0-9.]+ +[0-9.]+x .* +0 +\d+ +[0-9.]+ +[1-8] +verifier +1\n", output);
        Assert.Matches(@"N=2 speed-up: [0-9.]+x \(pairwise\)", output);
        Assert.Matches(@"N=2 speed-up: [0-9.]+x \(verifier\)", output);
        Assert.Matches(@"N=2 vs single: [0-9.]+x \(pairwise\)\n", output);
        Assert.Matches(@"N=2 vs single: [0-9.]+x \(verifier\)\n", output);
        var (bad, _, message) = CliRunner.Run("bench", "search", Fixtures.MllamaTiny, "--scorer", "none");
        Assert.Equal(2, bad);
        Assert.Contains("--scorer: 'none' is not one of pairwise, verifier", message);
    }

    [Fact]
    public void Without_a_folder_the_benches_look_in_LLAVACOT_SHARED_then_shared_then_beside_the_checkout_then_the_vendored_copies()
    {
        Func<string, string?> env = name => name == "LLAVACOT_SHARED" ? "/env" : null;
        Assert.Equal(
            [Path.Combine("/env", "fixtures", "x"), Path.Combine("..", "shared", "fixtures", "x"), Path.Combine("/repo", "..", "shared", "fixtures", "x"),
             Path.Combine("/repo", "tests", "fixtures", "x")],
            LlavaCot.Cli.Bench.BenchPaths.Candidates("x", env, "/repo"));
        Assert.Equal([Path.Combine("..", "shared", "fixtures", "x")], LlavaCot.Cli.Bench.BenchPaths.Candidates("x", _ => null, null));
    }

    /// <summary>The repository's own copy of the bench config is what a clone alone benches on.</summary>
    [Fact]
    public void The_vendored_bench_config_is_a_complete_config_folder()
    {
        var vendored = Path.Combine(Fixtures.RepoRoot, "tests", "fixtures", "mllama-bench-config");
        Assert.Contains(vendored, LlavaCot.Cli.Bench.BenchPaths.Candidates("mllama-bench-config", _ => null, Fixtures.RepoRoot));
        Assert.True(LlavaCot.Model.Config.MllamaConfig.Load(vendored).Text.CrossAttentionLayers.Length > 0);
        Assert.True(LlavaCot.Model.Config.PreprocessorConfig.Load(vendored).MaxImageTiles > 0);
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
    public void Bench_search_runs_with_int8_weights_and_refuses_another_quantization()
    {
        var (code, output, err) = CliRunner.Run("bench", "search", Fixtures.MllamaTiny, "--n", "1", "--dtype", "fp32", "--quantize", "int8");
        Assert.True(code == 0, err + output);
        Assert.Contains("Float32 with int8 linear weights", output);
        Assert.Matches(@"N=1 speed-up: [0-9.]+x", output);
        var (bad, _, message) = CliRunner.Run("bench", "search", Fixtures.MllamaTiny, "--quantize", "int3");
        Assert.Equal(2, bad);
        Assert.Contains("--quantize 'int3' is not one of none, int8, int4", message);
    }

    [Fact]
    public async Task The_weights_a_decode_step_reads_count_quantized_values_as_stored()
    {
        using var dense = await LlavaCot.Cli.Bench.SearchBench.CreateAsync(Fixtures.MllamaTiny, TorchSharp.torch.ScalarType.Float32, null);
        using var int8 = await LlavaCot.Cli.Bench.SearchBench.CreateAsync(Fixtures.MllamaTiny, TorchSharp.torch.ScalarType.Float32, null, Quantization.Int8);
        using var int4 = await LlavaCot.Cli.Bench.SearchBench.CreateAsync(Fixtures.MllamaTiny, TorchSharp.torch.ScalarType.Float32, null, Quantization.Int4);
        var (fp32Bytes, int8Bytes, int4Bytes) = (dense.DecodeWeightBytes(), int8.DecodeWeightBytes(), int4.DecodeWeightBytes());
        // fp32: 4 bytes a value; int8: 1 byte a value plus one fp32 scale per output row.
        Assert.True(int8Bytes > fp32Bytes / 4 && int8Bytes < fp32Bytes / 3, $"fp32 {fp32Bytes} bytes, int8 {int8Bytes} bytes");
        // int4: 4.5 bits a value (the output head int8).
        Assert.True(int4Bytes > fp32Bytes * 9 / 64 && int4Bytes < int8Bytes, $"fp32 {fp32Bytes} bytes, int8 {int8Bytes} bytes, int4 {int4Bytes} bytes");
    }

    [Fact]
    public void Bench_search_rejects_a_bad_beam_size()
    {
        var (code, _, err) = CliRunner.Run("bench", "search", Fixtures.MllamaTiny, "--n", "0");
        Assert.Equal(2, code);
        Assert.Contains("--n", err);
    }
}

public class BenchServeCommandTests
{
    /// <summary>Runs end to end on a small config: each K one after another and at once, then the gains (no speed is asserted).</summary>
    [Fact]
    public void Bench_serve_prints_both_modes_for_each_k_and_the_gains()
    {
        var (code, output, err) = CliRunner.Run("bench", "serve", Fixtures.MllamaTiny, "--k", "1,2", "--n", "2", "--dtype", "fp32");
        Assert.True(code == 0, err + output);
        Assert.Contains("cpu flags:", output);
        Assert.Matches(@"\n1 +sequential +[0-9.]+", output);
        Assert.Matches(@"\n2 +concurrent +[0-9.]+", output);
        // Two searches at once share decode steps: their mean batch exceeds what one search alone reaches.
        var batch = System.Text.RegularExpressions.Regex.Matches(output, @"\n2 +(sequential|concurrent)(?: +[0-9.]+){9} +([0-9.]+)")
            .ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(batch["concurrent"] > batch["sequential"], output);
        Assert.Matches(@"K=2 throughput gain: [0-9.]+x", output);
        Assert.Matches(@"K=2 decode gain: [0-9.]+x", output);
    }

    [Fact]
    public void Bench_serve_runs_with_the_verifier_and_reports_its_scoring_time()
    {
        var (code, output, err) = CliRunner.Run("bench", "serve", Fixtures.MllamaTiny, "--k", "2", "--n", "2", "--dtype", "fp32", "--scorer", "verifier");
        Assert.True(code == 0, err + output);
        Assert.Contains("stage search N=2 with the verifier scorer", output);
        Assert.Contains(" score s ", output);
        // Both searches of each row scored their candidates (at most 8 each) and judged none.
        var calls = Regex.Matches(output, @"(?m)^2 +(sequential|concurrent) .* (\d+) +(\d+)$")
            .Select(m => (Judge: int.Parse(m.Groups[2].Value), Score: int.Parse(m.Groups[3].Value))).ToList();
        Assert.Equal(2, calls.Count);
        Assert.All(calls, c => Assert.True(c.Judge == 0 && c.Score is > 0 and <= 16, output));
        Assert.Matches(@"K=2 throughput gain: [0-9.]+x", output);
        var (bad, _, message) = CliRunner.Run("bench", "serve", Fixtures.MllamaTiny, "--scorer", "pairwise,verifier");
        Assert.Equal(2, bad);
        Assert.Contains("--scorer: bench serve takes one scorer", message);
    }

    [Fact]
    public void Bench_serve_rejects_a_bad_k()
    {
        var (code, _, err) = CliRunner.Run("bench", "serve", Fixtures.MllamaTiny, "--k", "0");
        Assert.Equal(2, code);
        Assert.Contains("--k", err);
    }
}
