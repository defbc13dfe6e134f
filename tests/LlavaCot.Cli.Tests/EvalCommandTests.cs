using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LlavaCot.Tests;

namespace LlavaCot.Cli.Tests;

public class EvalCommandTests
{
    [Fact]
    public void Eval_prints_its_table_and_writes_json_and_a_png()
    {
        using var temp = new TempDir();
        CliRunner.Run("data", "shapes", "--out", temp.Path, "--count", "20", "--seed", "77");
        var (code, output, err) = CliRunner.Run("eval", Fixtures.MllamaTiny, temp.File("data.jsonl"), "--limit", "20", "--modes", "single,stage_beam",
            "--n", "2", "--max-new-tokens", "12", "--judge-max-new-tokens", "6", "--json", temp.File("out.json"), "--plot", temp.File("out.png"),
            "--answers", temp.File("answers.jsonl"));
        Assert.True(code == 0, err + output);
        Assert.Matches(@"single N=1 +20 +[0-9.]+% +\[", output);
        Assert.Matches(@"single greedy +20 +[0-9.]+% +\[", output);
        Assert.Matches(@"stage_beam N=2 pairwise +20 +[0-9.]+% +\[", output);
        Assert.Contains("stage_beam N=2 pairwise vs single N=1 on the same 20 questions", output);
        Assert.Contains("stage_beam N=2 pairwise vs single greedy on the same 20 questions", output);
        Assert.Contains("caption ok", output);

        var json = JsonNode.Parse(File.ReadAllText(temp.File("out.json")))!;
        var results = json["results"]!.AsArray();
        Assert.Equal(["single", "single", "stage_beam"], results.Select(r => (string?)r!["mode"]));
        Assert.Equal(["none", "none", "pairwise"], results.Select(r => (string?)r!["scorer"]));
        foreach (var r in results)
        {
            Assert.Equal(20, (int)r!["count"]!);
            Assert.InRange((double)r["accuracy"]!, (double)r["ci_low"]!, (double)r["ci_high"]!);
            Assert.NotNull(r["judge_agreement"]);
            // The generated set carries reference responses, so every answer's caption is graded.
            Assert.InRange((double)r["caption_ok"]!, 0, 1);
            Assert.True((double)r["seconds"]! > 0);
            Assert.InRange((double)r["median_seconds_per_question"]!, 1e-6, (double)r["seconds"]!);
            Assert.True((long)r["tokens"]! > 0);

            // Output that is not a terminal gets plain progress lines, with no carriage returns: one per tenth of the
            // questions (2 here) or per 30 s, and one at the end; 20 redraws would be twice the tenths.
            var progress = output.Split('\n').Where(l => l.StartsWith((string)r["label"]!, StringComparison.Ordinal) && ProgressBarTests.IsProgress(l)).ToList();
            Assert.InRange(progress.Count, 2, 10 + (int)((double)r["seconds"]! / 30));
            Assert.Matches(@"^\S+ (N=\d|greedy)( pairwise)? +20/20  [0-9.]+ questions/s  done in \d\d:\d\d:\d\d$", progress[^1]);
            Assert.Single(progress, l => l.Contains("done in"));
        }
        Assert.DoesNotContain('\r', output);
        // Every question's answer under each row, graded as the table grades it.
        var answers = File.ReadAllLines(temp.File("answers.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(60, answers.Count);
        var questions = File.ReadAllLines(temp.File("data.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        foreach (var row in results)
        {
            var mine = answers.Where(a => (string?)a["label"] == (string?)row!["label"]).ToList();
            Assert.Equal(questions.Select(q => (string?)q["question"]), mine.Select(a => (string?)a["question"]));
            Assert.Equal(questions.Select(q => (string?)q["answer"]), mine.Select(a => (string?)a["expected"]));
            Assert.All(mine, a => Assert.False(string.IsNullOrEmpty((string?)a["text"])));
            Assert.Equal((double)row!["accuracy"]!, mine.Count(a => (bool)a["correct"]!) / 20.0, 9);
        }
        var png = File.ReadAllBytes(temp.File("out.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.True(png.Length > 5000);
    }

    /// <summary>
    /// eval --quantize on the demo model: the teacher-forced agreement of each format, then every row answered by the
    /// quantized weights too, paired against the row of the folder's own weights on the same questions and seeds.
    /// </summary>
    [Fact]
    public void Eval_with_quantize_pairs_each_quantized_row_against_its_unquantized_one()
    {
        using var temp = new TempDir();
        CliRunner.Run("data", "shapes", "--out", temp.Path, "--count", "4", "--seed", "92");
        var demo = Path.Combine(Fixtures.RepoRoot, "models", "demo");
        var (code, output, err) = CliRunner.Run("eval", demo, temp.File("data.jsonl"), "--modes", "single", "--quantize", "int8,int4",
            "--json", temp.File("out.json"));
        Assert.True(code == 0, err + output);
        foreach (var format in new[] { "int8", "int4" })
            Assert.Matches($@"
{format} vs float32 weights, teacher-forced on the reference answers: top-1 agreement [0-9.]+% of [1-9][0-9]* positions, relative RMS logit error [0-9.]+%", output);
        var json = JsonNode.Parse(File.ReadAllText(temp.File("out.json")))!;
        string[] labels = ["single N=1", "single greedy", "single N=1 int8", "single N=1 int4", "single greedy int8", "single greedy int4"];
        Assert.Equal(labels.Order(StringComparer.Ordinal), json["results"]!.AsArray().Select(r => (string)r!["label"]!).Order(StringComparer.Ordinal));
        var paired = json["paired"]!.AsArray().Select(p => ((string?)p!["a"], (string?)p["b"], (int)p["count"]!)).ToList();
        foreach (var format in new[] { "int8", "int4" })
        {
            Assert.Contains(($"single N=1 {format}", "single N=1", 4), paired);
            Assert.Contains(($"single greedy {format}", "single greedy", 4), paired);
        }
        var (bad, _, badErr) = CliRunner.Run("eval", demo, temp.File("data.jsonl"), "--modes", "single", "--quantize", "int3");
        Assert.Equal(2, bad);
        Assert.Contains("--quantize takes int8, int4 or both", badErr);
    }

    /// <summary>
    /// The paper's table for our task on the bundled demo model: every mode × scorer × N that applies, the greedy row,
    /// the paired difference against single, agreement per stage, tokens and model seconds per question, the plot.
    /// </summary>
    [Fact]
    public void Eval_on_the_demo_model_runs_every_mode_scorer_and_n_with_the_greedy_row()
    {
        using var temp = new TempDir();
        // Questions where the demo's candidates differ somewhere (most of its candidates are word for word the same).
        CliRunner.Run("data", "shapes", "--out", temp.Path, "--count", "6", "--seed", "92");
        var demo = Path.Combine(Fixtures.RepoRoot, "models", "demo");
        var (code, output, err) = CliRunner.Run("eval", demo, temp.File("data.jsonl"), "--limit", "6",
            "--modes", "single,stage_beam,self_consistency,weighted_best_of_n,swires", "--scorers", "pairwise,verifier", "--n", "1,2",
            "--json", temp.File("out.json"), "--plot", temp.File("out.png"));
        Assert.True(code == 0, err + output);
        string[] labels =
        [
            "single N=1", "single greedy", "stage_beam N=1", "stage_beam N=2 pairwise", "stage_beam N=2 verifier",
            "self_consistency N=1", "self_consistency N=2 pairwise", "self_consistency N=2 verifier",
            "weighted_best_of_n N=1 verifier", "weighted_best_of_n N=2 verifier", "swires verifier",
        ];
        // What does not apply is said once, before the rows.
        Assert.Single(Regex.Matches(output, "note: weighted_best_of_n does not take the pairwise scorer"));
        Assert.Single(Regex.Matches(output, "note: swires does not take the pairwise scorer"));
        Assert.Contains("note: single takes no scorer: run once", output);
        Assert.Contains("tags ok  caption ok  tokens/q  judge/q  decoded/q  prefilled/q  model s/q", output);
        foreach (var label in labels.Skip(1))
            Assert.Matches($@"\n{Regex.Escape(label)} +6 +[0-9.]+% +\[ *[0-9.]+, +[0-9.]+\] +[-+]?[0-9.]+ \[[-+]?[0-9.]+, [-+]?[0-9.]+\] ", output);
        Assert.Matches(@"\nsingle N=1 +6 +[0-9.]+% +\[ *[0-9.]+, +[0-9.]+\] +- ", output);
        Assert.Contains(LlavaCot.Training.Eval.AgreementCounter.VerifierRule, output);
        Assert.Matches(@"\nrow +caption +reasoning +conclusion +answer +vote\n", output);
        Assert.Matches(@"\nswires verifier +(-|\d+% of \d+ \(≥\d+%\))", output);
        Assert.Contains("model s/q: the model threads' own seconds per question", output);

        var json = JsonNode.Parse(File.ReadAllText(temp.File("out.json")))!;
        var results = json["results"]!.AsArray().ToDictionary(r => (string)r!["label"]!, r => r!);
        Assert.Equal(labels, json["results"]!.AsArray().Select(r => (string?)r!["label"]));
        Assert.Equal(["none", "none", "none", "pairwise", "verifier", "none", "pairwise", "verifier", "verifier", "verifier", "verifier"],
            labels.Select(l => (string?)results[l]["scorer"]));
        Assert.Equal(["single greedy"], results.Values.Where(r => (bool)r["greedy"]!).Select(r => (string?)r["label"]));
        foreach (var r in results.Values)
        {
            Assert.Equal(6, (int)r["count"]!);
            Assert.True((double)r["model_seconds"]! > 0, r.ToJsonString());
            Assert.True((long)r["decoded_tokens"]! > 0 && (long)r["prefilled_tokens"]! > 0, r.ToJsonString());
            // Every row starts with empty caches: it encodes each question's image once, whatever ran before it.
            Assert.Equal(6, (long)r["vision_passes"]!);
            // Verifier rows name, per stage with right and wrong candidates, the cutoff that best separates them.
            foreach (var (stage, cutoff) in r["verifier_cutoffs"]!.AsObject())
            {
                Assert.Equal("verifier", (string?)r["scorer"]);
                Assert.InRange((double)cutoff!["cutoff"]!, 0, 1);
                Assert.InRange((double)cutoff["balanced_accuracy"]!, 0.5, 1);
            }
        }
        Assert.Matches(@"
swires verifier verifier cutoff \(P\(correct\) at or below it taken as wrong; best balanced accuracy\): \w+ [0-9.]+ \(\d+% of \d+ right, \d+ wrong\)", output);
        // At N=1 nothing is chosen: no judge call, no score; N=2 calls its own scorer only.
        Assert.Equal((0, 0), ((long)results["stage_beam N=1"]["judge_calls"]!, (long)results["stage_beam N=1"]["score_calls"]!));
        Assert.True((long)results["stage_beam N=2 pairwise"]["judge_calls"]! > 0);
        Assert.Equal(0, (long)results["stage_beam N=2 pairwise"]["score_calls"]!);
        Assert.True((long)results["stage_beam N=2 verifier"]["score_calls"]! > 0);
        Assert.Equal(0, (long)results["stage_beam N=2 verifier"]["judge_calls"]!);
        Assert.True((long)results["swires verifier"]["score_calls"]! > 0);
        // SWIRES scores 4 captions a round: a 6-question set has right/wrong caption pairs, counted with their lower bound.
        var captions = results["swires verifier"]["judge_agreement"]!["caption"]!;
        Assert.True((int)captions["comparisons"]! > 0);
        Assert.InRange((double)captions["ci_low"]!, 0, (double)captions["rate"]!);
        // Every row is paired with single, and the scored ones with the greedy pass.
        var paired = json["paired"]!.AsArray().Select(p => $"{p!["a"]} vs {p["b"]}").ToList();
        foreach (var label in labels.Skip(1))
            Assert.Contains($"{label} vs single N=1", paired);
        Assert.Contains("stage_beam N=2 verifier vs single greedy", paired);
        Assert.Contains("swires verifier vs single greedy", paired);
        Assert.Contains("higher P(correct)", (string?)json["agreement_rules"]!["verifier"]);
        var png = File.ReadAllBytes(temp.File("out.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
    }

    [Fact]
    public void Several_workers_give_the_same_results_as_one()
    {
        using var temp = new TempDir();
        CliRunner.Run("data", "shapes", "--out", temp.Path, "--count", "8", "--seed", "78");
        JsonArray Results(int workers, string json)
        {
            var (code, output, err) = CliRunner.Run("eval", Fixtures.MllamaTiny, temp.File("data.jsonl"), "--modes", "single,stage_beam", "--n", "2",
                "--max-new-tokens", "10", "--judge-max-new-tokens", "5", "--workers", workers.ToString(), "--json", temp.File(json));
            Assert.True(code == 0, err + output);
            Assert.Contains($"{workers} instance", output);
            return JsonNode.Parse(File.ReadAllText(temp.File(json)))!["results"]!.AsArray();
        }
        var one = Results(1, "one.json");
        var two = Results(2, "two.json");
        Assert.Equal(one.Count, two.Count);
        foreach (var (a, b) in one.Zip(two))
        {
            foreach (var field in new[] { "accuracy", "tags_ok", "caption_ok", "tokens", "judge_agreement" })
                Assert.Equal(a![field]?.ToJsonString(), b![field]?.ToJsonString());
        }
    }

    [Fact]
    public void A_vlmevalkit_multiple_choice_tsv_is_read_and_scored_by_letter()
    {
        using var temp = new TempDir();
        var image = Convert.ToBase64String(File.ReadAllBytes(Fixtures.Path("mllama-tiny", "images", "img0_50x30_rgb.png")));
        File.WriteAllText(temp.File("mc.tsv"),
            "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage\n" +
            $"0\tWhat colour is the sky?\tLook up.\tblue\tgreen\tred\tnan\tA\tcolour\t{image}\n" +
            $"1\t\"A quoted \"\"question\"\"\twith a tab\"\tnan\tyes\tno\t\t\tB\tyes_no\t{image}\n");
        var (code, output, err) = CliRunner.Run("eval", Fixtures.MllamaTiny, temp.File("mc.tsv"), "--modes", "single", "--max-new-tokens", "6");
        Assert.True(code == 0, err + output);
        Assert.Matches(@"single N=1 +2 ", output);
        Assert.Contains("exact match of the option letter", output);
        Assert.Contains("no GPT-based answer extraction", output);
    }
}
