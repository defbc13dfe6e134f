using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Scoring;
using static LlavaCot.Reasoning.Tests.ScorerTests;

namespace LlavaCot.Reasoning.Tests;

/// <summary>Token log-probabilities: asked for only when the request wants them, and known for every token of any mode's answer.</summary>
public class LogProbTests
{
    private static ReasonRequest Asking(ReasoningMode mode, int n, int? top, ScorerKind? scorer = null)
    {
        var request = Request(mode, n, scorer);
        return request with { Options = request.Options with { TopLogProbs = top } };
    }

    private static ScriptedSession Session(ReasoningMode mode) => mode == ReasoningMode.TwoStage
        ? new ScriptedSession(StageText, ["<CONCLUSION> three </CONCLUSION>"])
        : new ScriptedSession(StageText, Enumerable.Repeat("Since so, I choose response 2.", 100));

    private static string Text(IEnumerable<TokenLogProb> tokens) => string.Concat(tokens.Select(t => t.Token));

    [Fact]
    public async Task Without_the_request_asking_no_call_asks_and_nothing_is_recorded()
    {
        var session = Session(ReasoningMode.StageBeam);
        var events = await Collect(new Reasoner(session), Asking(ReasoningMode.StageBeam, 2, null));
        Assert.All(session.Samples, s => Assert.Null(s.TopLogProbs));
        Assert.All(events.OfType<StageWinner>(), w => Assert.Null(w.LogProbs));
        Assert.Null(Final(events).LogProbs);
    }

    public static TheoryData<ReasoningMode> Modes() => new(Enum.GetValues<ReasoningMode>());

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Every_mode_returns_the_log_probabilities_of_every_token_of_its_answer_in_order(ReasoningMode mode)
    {
        var session = Session(mode);
        var events = await Collect(new Reasoner(session), Asking(mode, 3, 2));
        var final = Final(events);

        // The chain of candidates the answer is made of (SWIRES: summary, a kept caption, a reasoning, a conclusion),
        // each piece with the log-probabilities its call recorded.
        Assert.Equal(final.Text, Text(final.LogProbs!));
        Assert.All(final.LogProbs!, t => Assert.Equal(2, t.Top.Count));
        Assert.All(session.Samples, s => Assert.Equal(2, s.TopLogProbs));
        Assert.All(events.OfType<StageWinner>(), w => Assert.Equal(w.Text, Text(w.LogProbs!)));
        // Judge replies are not the answer: they never ask.
        var judged = mode == ReasoningMode.TwoStage ? session.Completions.Skip(1) : session.Completions;
        Assert.All(judged, c => Assert.Null(c.TopLogProbs));
        if (mode == ReasoningMode.TwoStage)
            Assert.Equal(2, session.Completions[0].TopLogProbs);
    }

    [Fact]
    public async Task A_stage_chains_answer_carries_each_winners_own_log_probabilities()
    {
        var session = Session(ReasoningMode.StageBeam);
        var events = await Collect(new Reasoner(session), Asking(ReasoningMode.StageBeam, 2, 0));
        var final = Final(events);
        var winners = events.OfType<StageWinner>().ToList();
        Assert.Equal(4, winners.Count);
        // Each stage's calls number their tokens from 1: the answer's log-probabilities restart at every stage's winner.
        var expected = winners.SelectMany(w => w.Text.Select((_, n) => -(n + 1) / 100.0)).ToList();
        Assert.Equal(expected, final.LogProbs!.Select(t => t.LogProb));
        Assert.All(final.LogProbs!, t => Assert.Empty(t.Top));
    }

    [Fact]
    public void Top_log_probabilities_out_of_bounds_are_refused_naming_the_field()
    {
        var limits = new RequestLimits();
        Assert.Empty(limits.Check(Asking(ReasoningMode.StageBeam, 2, 20)));
        Assert.Equal("top_logprobs", Assert.Single(limits.Check(Asking(ReasoningMode.StageBeam, 2, 21))).Field);
        Assert.Equal("top_logprobs", Assert.Single(limits.Check(Asking(ReasoningMode.StageBeam, 2, -1))).Field);
    }

    [Theory]
    [InlineData("<SUMMARY>a</SUMMARY>\n\n<CONCLUSION>  b c \n</CONCLUSION>\n\n")]
    [InlineData("<SUMMARY>a</SUMMARY> \n")]
    [InlineData("<SUMMARY>a</SUMMARY><CONCLUSION> b")]
    [InlineData("no tags at all")]
    [InlineData("")]
    public void The_split_ranges_are_where_the_split_parts_lie(string text)
    {
        var (reasoning, content, concluded) = Answers.SplitRanges(text);
        Assert.Equal(Answers.Split(text), (text[reasoning], text[content], concluded));
    }
}
