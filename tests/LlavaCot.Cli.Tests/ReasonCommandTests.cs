using System.Text.RegularExpressions;
using LlavaCot.Reasoning;
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
        Assert.Matches(@"\[loaded in \d+\.\d s\]", output);
        // One image, one vision pass; every stage prefills and decodes.
        var work = System.Text.RegularExpressions.Regex.Match(output,
            @"\[model work: vision tower \d+\.\d s \(1 pass\), prefill \d+\.\d s \((\d+) tokens\), decode \d+\.\d s \((\d+) steps, (\d+) tokens, \d+\.\d\d s/step\), sampling \d+\.\d s\]");
        Assert.True(work.Success, output);
        Assert.True(int.Parse(work.Groups[1].Value) > 0 && int.Parse(work.Groups[2].Value) > 0, output);
        Assert.True(int.Parse(work.Groups[3].Value) >= int.Parse(work.Groups[2].Value), output);
    }

    [Fact]
    public void Reason_takes_bf16_weights_computed_in_fp32_when_told_the_cpu_lacks_bf16()
    {
        var (code, output, err) = CliRunner.Run("reason", Fixtures.MllamaTiny, Image, "What is this?", "--mode", "single", "--max-new-tokens", "4",
            "--dtype", "bfloat16", "--bf16-support", "emulated");
        Assert.True(code == 0, err + output);
        Assert.Contains("[bfloat16 weights, float32 compute: bfloat16 weights as configured, computed in float32: the CPU has no native bf16", output);
        Assert.Contains("== answer", output);
    }

    [Fact]
    public void Without_a_model_folder_the_bundled_demo_answers_in_the_four_tagged_stages()
    {
        using var temp = new TempDir();
        CliRunner.Run("data", "shapes", "--out", temp.Path, "--count", "1", "--seed", "31");
        var (code, output, err) = CliRunner.Run("reason", temp.File(Path.Combine("images", "000000.png")), "How many shapes are in the image?",
            "--mode", "single", "--seed", "3");
        Assert.True(code == 0, err + output);
        Assert.Matches(@"<SUMMARY>[\s\S]+</SUMMARY>\s*<CAPTION>[\s\S]+</CAPTION>\s*<REASONING>[\s\S]+</REASONING>\s*<CONCLUSION> *[0-9] *</CONCLUSION>", output);
    }

    [Fact]
    public void The_verifier_scorer_prints_each_candidates_score_and_the_scoring_cost()
    {
        using var temp = new TempDir();
        CliRunner.Run("data", "shapes", "--out", temp.Path, "--count", "1", "--seed", "31");
        var (code, output, err) = CliRunner.Run("reason", temp.File(Path.Combine("images", "000000.png")), "How many shapes are in the image?",
            "--mode", "stage_beam", "--scorer", "verifier", "--n", "2", "--seed", "3");
        Assert.True(code == 0, err + output);
        Assert.Contains("[stage_beam, beam 2, seed 3, scorer verifier,", output);
        // Two candidates in each of the four stages, each scored (or the same as the other) before its winner.
        var scores = Regex.Matches(output, @"(?m)^  score ([01]): P\(correct\) \d+\.\d%( \(\d+ tokens\)| \(identical to 0, not scored again\))$");
        Assert.Equal(8, scores.Count);
        Assert.DoesNotContain("  judge ", output);
        var answer = Regex.Match(output, @"== answer \(\d+ tokens, 0 judge calls, (\d+) score calls of (\d+) tokens, ");
        Assert.True(answer.Success, output);
        Assert.Equal(scores.Count(m => m.Groups[2].Value.EndsWith("tokens)", StringComparison.Ordinal)), int.Parse(answer.Groups[1].Value));
        Assert.True(int.Parse(answer.Groups[2].Value) > 0, output);
    }

    [Fact]
    public void Swires_prints_its_rounds_and_the_captions_it_keeps()
    {
        using var temp = new TempDir();
        CliRunner.Run("data", "shapes", "--out", temp.Path, "--count", "1", "--seed", "31");
        var (code, output, err) = CliRunner.Run("reason", temp.File(Path.Combine("images", "000000.png")), "How many shapes are in the image?",
            "--mode", "swires", "--swires-cutoff", "0", "--seed", "3");
        Assert.True(code == 0, err + output);
        // A cutoff of 0: any second best above it ends the search after one round.
        Assert.Matches(@"(?m)^  round 0: second best \d+\.\d% > cutoff 0\.0%, on to the conclusions$", output);
        Assert.Matches(@"(?m)^    ranking \(stage:candidate\): 2:\d \d+\.\d%(, 2:\d \d+\.\d%){3}$", output);
        Assert.Matches(@"(?m)^  kept \d, \d \(best first\)$", output);
        Assert.Contains("== conclusion (3 candidates)", output);
    }

    [Fact]
    public void A_scorer_is_checked_before_loading_with_the_servers_messages()
    {
        var (code, _, err) = CliRunner.Run("reason", Fixtures.MllamaTiny, Image, "q", "--scorer", "judge");
        Assert.Equal(2, code);
        Assert.Contains("--scorer 'judge' is not one of none, pairwise, verifier", err);
        (code, var output, err) = CliRunner.Run("reason", Fixtures.MllamaTiny, Image, "q", "--mode", "sentence_beam", "--scorer", "verifier",
            "--swires-cutoff", "0.4");
        Assert.Equal(1, code);
        foreach (var e in new RequestLimits().Check(new ReasonRequest("x", null, "q", new ReasonOptions
                 {
                     Mode = ReasoningMode.SentenceBeam, Scorer = LlavaCot.Reasoning.Scoring.ScorerKind.Verifier, SwiresCutoff = 0.4,
                 })))
            Assert.Contains($"{e.Field}: {e.Message}", err);
        Assert.DoesNotContain("loaded in", output);
    }

    [Fact]
    public void A_model_folder_without_a_question_is_reported_as_a_missing_question()
    {
        var (code, _, err) = CliRunner.Run("reason", Fixtures.MllamaTiny, Image);
        Assert.Equal(2, code);
        Assert.Contains("missing \"question\"", err);
    }

    [Fact]
    public void Reason_refuses_an_unknown_quantization_before_loading_with_the_servers_message()
    {
        var (code, output, err) = CliRunner.Run("reason", Fixtures.MllamaTiny, Image, "q", "--quantize", "int3");
        Assert.Equal(2, code);
        Assert.Contains("--quantize 'int3' is not one of none, int8, int4", err);
        Assert.DoesNotContain("loaded in", output);
    }

    [Fact]
    public void Reason_rejects_an_unknown_mode_and_out_of_range_options_with_the_servers_messages()
    {
        var (code, _, err) = CliRunner.Run("reason", Fixtures.MllamaTiny, Image, "q", "--mode", "greedy");
        Assert.Equal(2, code);
        Assert.Contains("--mode 'greedy' is not one of stage_beam", err);
        (code, _, err) = CliRunner.Run("reason", Fixtures.MllamaTiny, Image, "q", "--n", "40", "--temperature", "3");
        Assert.Equal(1, code);
        var expected = new RequestLimits().Check(new ReasonRequest("x", null, "q",
            new ReasonOptions { BeamSize = 40, Sampling = SamplingOptions.Default with { Temperature = 3 } }));
        Assert.Equal(2, expected.Count);
        foreach (var e in expected)
            Assert.Contains($"{e.Field}: {e.Message}", err);
    }

    [Fact]
    public void A_dash_reads_the_image_from_standard_input()
    {
        var (code, output, err) = CliRunner.RunWithInput(File.ReadAllBytes(Image), "reason", Fixtures.MllamaTiny, "-", "What is this?",
            "--n", "1", "--seed", "4", "--max-new-tokens", "3", "--mode", "single");
        Assert.True(code == 0, err + output);
        var (fileCode, fromFile, _) = CliRunner.Run("reason", Fixtures.MllamaTiny, Image, "What is this?",
            "--n", "1", "--seed", "4", "--max-new-tokens", "3", "--mode", "single");
        Assert.Equal(0, fileCode);
        // The same image either way: the same prompt length, and the same answer for the same seed.
        Assert.Equal(Answer(fromFile), Answer(output));
        Assert.Contains("prompt", output);

        (code, _, err) = CliRunner.RunWithInput([], "reason", Fixtures.MllamaTiny, "-", "What is this?");
        Assert.Equal(2, code);
        Assert.Contains("standard input", err);
        Assert.Contains("--no-image", err);
    }

    [Fact]
    public void No_image_asks_a_text_only_question()
    {
        var (code, output, err) = CliRunner.Run("reason", Fixtures.MllamaTiny, "--no-image", "What day is it?", "--n", "1",
            "--max-new-tokens", "3", "--mode", "single", "--date", "2025-01-02");
        Assert.True(code == 0, err + output);
        Assert.Contains("== answer", output);
        // The text-only template is longer than the image prompt of the same question: it has the system block.
        var withImage = CliRunner.Run("reason", Fixtures.MllamaTiny, Image, "What day is it?", "--n", "1", "--max-new-tokens", "3", "--mode", "single");
        Assert.NotEqual(PromptTokens(withImage.Out), PromptTokens(output));
        (code, _, err) = CliRunner.Run("reason", Fixtures.MllamaTiny, "--no-image", "q", "extra");
        Assert.Equal(2, code);
        Assert.Contains("unexpected argument 'extra'", err);
    }

    /// <summary>The conclusion printed after the last "== answer" line, up to the work summary (whose seconds vary).</summary>
    private static string Answer(string output)
    {
        var answer = output[output.LastIndexOf("== answer", StringComparison.Ordinal)..].Split('\n', 2)[1];
        return answer[..answer.IndexOf("[model work:", StringComparison.Ordinal)];
    }

    private static int PromptTokens(string output) =>
        int.Parse(System.Text.RegularExpressions.Regex.Match(output, @"prompt (\d+) tokens").Groups[1].Value);
}
