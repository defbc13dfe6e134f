using System.Text.Json.Nodes;
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
        Assert.Matches(@"stage_beam N=2 +20 +[0-9.]+% +\[", output);
        Assert.Contains("stage_beam N=2 vs single N=1 on the same 20 questions", output);
        Assert.Contains("caption ok", output);

        var json = JsonNode.Parse(File.ReadAllText(temp.File("out.json")))!;
        var results = json["results"]!.AsArray();
        Assert.Equal(["single", "stage_beam"], results.Select(r => (string?)r!["mode"]));
        foreach (var r in results)
        {
            Assert.Equal(20, (int)r!["count"]!);
            Assert.InRange((double)r["accuracy"]!, (double)r["ci_low"]!, (double)r["ci_high"]!);
            Assert.NotNull(r["judge_agreement"]);
            // The generated set carries reference responses, so every answer's caption is graded.
            Assert.InRange((double)r["caption_ok"]!, 0, 1);
            Assert.True((double)r["seconds"]! > 0);
            Assert.True((long)r["tokens"]! > 0);

            // Output that is not a terminal gets plain progress lines, with no carriage returns: one per tenth of the
            // questions (2 here) or per 30 s, and one at the end; 20 redraws would be twice the tenths.
            var progress = output.Split('\n').Where(l => l.StartsWith((string)r["label"]!, StringComparison.Ordinal) && ProgressBarTests.IsProgress(l)).ToList();
            Assert.InRange(progress.Count, 2, 10 + (int)((double)r["seconds"]! / 30));
            Assert.Matches(@"^\S+ N=\d +20/20  [0-9.]+ questions/s  done in \d\d:\d\d:\d\d$", progress[^1]);
            Assert.Single(progress, l => l.Contains("done in"));
        }
        Assert.DoesNotContain('\r', output);
        // Every question's answer under each row, graded as the table grades it.
        var answers = File.ReadAllLines(temp.File("answers.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(40, answers.Count);
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
