using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Judging;
using LlavaCot.Training.Shapes;

namespace LlavaCot.Training.Tests;

public class JudgeExamplesTests
{
    /// <summary>The prompt the search's own judge sends for two candidate texts.</summary>
    private static async Task<string> SearchPrompt(JudgeType type, string question, string first, string second)
    {
        var prompts = new List<CompletionRequest>();
        var judge = new Judge((requests, _) =>
        {
            prompts.AddRange(requests);
            return Task.FromResult<IReadOnlyList<Completion>>(requests.Select(_ => new Completion("I choose response 1", 4, StopReason.EndOfSequence)).ToList());
        }, SamplingOptions.Default, 2048, new SeedStream(1));
        await judge.CompareManyAsync(type, question, [(first, second)], CancellationToken.None);
        return prompts.Single(p => p.WithImage).UserText;
    }

    [Fact]
    public async Task Every_judge_type_prompts_as_the_search_does_and_names_the_correct_candidate()
    {
        foreach (var type in JudgeExamples.Types)
        {
            var orders = new HashSet<bool>();
            for (var i = 0; i < 40; i++)
            {
                var (scene, question, _) = ShapeDataset.Draw(9, i);
                var (first, second, firstIsGood) = JudgeExamples.Pair(type, scene, question, new SeedStream((ulong)i));
                var example = JudgeExamples.Comparison(type, scene, question, new SeedStream((ulong)i));
                Assert.Equal($"judge:{type.ToString().ToLowerInvariant()}", example.Kind);
                Assert.True(example.WithImage);
                Assert.NotEqual(first, second);
                Assert.Matches(@"^Since .+, I choose response [12]\.$", example.Reply);
                Assert.EndsWith($"I choose response {(firstIsGood ? 1 : 2)}.", example.Reply);
                Assert.Equal(await SearchPrompt(type, question.Text, first, second), example.Prompt);
                var good = firstIsGood ? first : second;
                var right = ShapeAnswer.For(scene, question).Text;
                Assert.StartsWith(good, right);
                orders.Add(firstIsGood);
            }
            Assert.Equal(2, orders.Count);
        }
    }

    [Fact]
    public void Corrupted_stages_are_wrong_in_the_way_each_type_judges()
    {
        for (var i = 0; i < 200; i++)
        {
            var (scene, question, answer) = ShapeDataset.Draw(4, i);
            var rng = new SeedStream((ulong)i);
            Assert.NotEqual(answer.Caption, ShapeCorruption.Caption(scene, rng));
            Assert.NotEqual(answer.Reasoning, ShapeCorruption.Reasoning(scene, question, rng));
            Assert.NotEqual(answer.Conclusion, ShapeCorruption.Conclusion(scene, question, rng));
            Assert.NotEqual(answer.Summary, ShapeCorruption.Summary(scene, question, rng));
        }
    }

    [Fact]
    public void Pre_checks_say_correct_exactly_for_the_reference_reasoning_and_are_text_only()
    {
        var seen = new HashSet<string>();
        for (var i = 0; i < 60; i++)
        {
            var (scene, question, answer) = ShapeDataset.Draw(2, i);
            var example = JudgeExamples.PreCheck(scene, question, new SeedStream((ulong)i));
            Assert.False(example.WithImage);
            Assert.StartsWith(JudgePrompts.CorrectnessCheck, example.Prompt);
            Assert.Equal(example.Prompt.EndsWith($" {answer.Reasoning} ", StringComparison.Ordinal) ? "correct" : "incorrect", example.Reply);
            seen.Add(example.Reply);
        }
        Assert.Equal(["correct", "incorrect"], seen.Order());
    }

    [Fact]
    public void Caption_practice_replies_with_the_caption_stage_of_an_answer_about_the_same_scene()
    {
        for (var i = 0; i < 40; i++)
        {
            var (scene, question, answer) = ShapeDataset.Draw(6, i);
            var example = JudgeExamples.Describe(scene);
            Assert.Equal("caption", example.Kind);
            Assert.True(example.WithImage);
            Assert.Equal(JudgeExamples.DescribePrompt, example.Prompt);
            // The reply is exactly the answer's CAPTION stage, so practice and answers teach the same tokens.
            Assert.Contains(example.Reply, answer.Text, StringComparison.Ordinal);
            Assert.Matches(@"^<CAPTION> [^<]+ </CAPTION>$", example.Reply);
        }
    }

    [Fact]
    public void The_mix_sends_each_share_of_steps_to_its_kind_of_batch()
    {
        var mix = new Train.ExampleMix(0.4, 0.25, 0.1, 0.15, 0.1);
        var kinds = Enumerable.Range(0, 1000).Select(i => mix.Pick((i + 0.5) / 1000)).GroupBy(k => k).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(new Dictionary<string, int> { ["answer"] = 400, ["caption"] = 250, ["reasoning"] = 100, ["judge"] = 150, ["pre_check"] = 100 }, kinds);
        var stream = new Train.ExampleStream(3);
        Assert.All(stream.Batch("caption", 8), s => Assert.InRange(s.Scene!.Shapes.Count, Train.ExampleStream.CaptionMinShapes, ShapeScene.MaxShapes));
    }

    [Fact]
    public void Reasoning_practice_gives_the_answer_up_to_its_caption_and_asks_for_the_rest_without_the_image()
    {
        for (var i = 0; i < 20; i++)
        {
            var (_, question, answer) = ShapeDataset.Draw(4, i);
            var example = JudgeExamples.FollowCaption(question, answer);
            Assert.Equal("reasoning", example.Kind);
            Assert.False(example.WithImage);
            Assert.Equal(question.Text, example.Prompt);
            Assert.Equal(answer.Text, example.Given + example.Reply);
            Assert.EndsWith("</CAPTION>\n\n", example.Given);
            Assert.StartsWith("<REASONING>", example.Reply);
        }
    }
}
