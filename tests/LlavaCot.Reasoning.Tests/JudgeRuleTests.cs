using LlavaCot.Reasoning.Judging;

namespace LlavaCot.Reasoning.Tests;

public class JudgeRuleTests
{
    private static (Judge Judge, List<CompletionRequest> Calls) NewJudge(params string[] replies)
    {
        var queue = new Queue<string>(replies);
        var calls = new List<CompletionRequest>();
        var judge = new Judge((requests, _) =>
        {
            calls.AddRange(requests);
            return Task.FromResult<IReadOnlyList<Completion>>(requests.Select(_ => new Completion(queue.Dequeue(), 3, StopReason.EndOfSequence)).ToList());
        }, SamplingOptions.Default, 2048, new SeedStream(7));
        return (judge, calls);
    }

    private const string Full = "<SUMMARY> s </SUMMARY>\n\n<CAPTION> c </CAPTION>\n\n<REASONING> r </REASONING>\n\n<CONCLUSION> x </CONCLUSION>";

    [Theory]
    [InlineData(JudgeType.Summary)]
    [InlineData(JudgeType.Caption)]
    [InlineData(JudgeType.Reasoning)]
    [InlineData(JudgeType.Conclusion)]
    public async Task A_candidate_without_its_tags_loses_without_a_judge_call(JudgeType type)
    {
        var (judge, calls) = NewJudge();
        var first = (await judge.CompareManyAsync(type, "q", [("no tags here", Full)], CancellationToken.None))[0];
        var second = (await judge.CompareManyAsync(type, "q", [(Full, "no tags here")], CancellationToken.None))[0];
        Assert.Equal((1, "missing_tags"), (first.Winner, first.Decision));
        Assert.Equal((0, "missing_tags"), (second.Winner, second.Decision));
        Assert.Empty(calls);
    }

    [Fact]
    public async Task When_both_lack_their_tags_the_second_wins_without_a_call()
    {
        var (judge, calls) = NewJudge();
        var verdict = (await judge.CompareManyAsync(JudgeType.Reasoning, "q", [("<SUMMARY> a </SUMMARY>", "nothing")], CancellationToken.None))[0];
        Assert.Equal(1, verdict.Winner);
        Assert.Empty(calls);
    }

    [Fact]
    public async Task Sentence_mode_without_a_period_is_guarded()
    {
        var (judge, calls) = NewJudge("I choose response 1");
        var noPeriod = (await judge.CompareManyAsync(JudgeType.Sentence, "q", [("no period at all", "One. Two.")], CancellationToken.None))[0];
        Assert.Equal(1, noPeriod.Winner);
        Assert.Empty(calls);
        var both = (await judge.CompareManyAsync(JudgeType.Sentence, "q", [("A first. Then", "B one. B two.")], CancellationToken.None))[0];
        Assert.Equal(0, both.Winner);
        Assert.Single(calls);
        // parts[-2] of each; the hint is the last candidate's earlier sentences joined by spaces.
        Assert.Contains("\nRepsonse 1: A first\nRepsonse 2:  B two", calls[0].UserText);
        Assert.Contains("\n\nHint about the Question: B one", calls[0].UserText);
    }

    [Fact]
    public async Task Unparseable_reply_favours_the_second_candidate()
    {
        var (judge, _) = NewJudge("I cannot decide.", "Since it is better, I choose response 1.");
        Assert.Equal(1, ((await judge.CompareManyAsync(JudgeType.All, "q", [("a", "b")], CancellationToken.None))[0]).Winner);
        Assert.Equal(0, ((await judge.CompareManyAsync(JudgeType.All, "q", [("a", "b")], CancellationToken.None))[0]).Winner);
    }

    [Fact]
    public async Task Judge_calls_use_the_request_sampling_and_fresh_seeds()
    {
        var (judge, calls) = NewJudge("x", "y");
        await judge.CompareManyAsync(JudgeType.All, "q", [("a", "b")], CancellationToken.None);
        await judge.CompareManyAsync(JudgeType.All, "q", [("a", "b")], CancellationToken.None);
        Assert.All(calls, c => Assert.Equal(SamplingOptions.Default, c.Sampling));
        Assert.NotEqual(calls[0].Seed, calls[1].Seed);
    }
}
