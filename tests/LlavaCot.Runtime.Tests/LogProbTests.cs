using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;

namespace LlavaCot.Runtime.Tests;

/// <summary>The engine's log-probabilities through the port: per candidate, per completion, and for a whole search's answer.</summary>
public class LogProbTests(TinyHost tiny) : IClassFixture<TinyHost>
{
    private Model.Inputs.ITokenizer Tokenizer => tiny.Host.Generator.Inputs.Tokenizer;

    private async Task<IReadOnlyList<Candidate>> Sample(int? top)
    {
        await using var session = await tiny.Host.Generator.OpenSessionAsync(new SessionRequest(TinyHost.Image(), "What is this"), default);
        return await session.SampleAsync(new SampleRequest(session.PromptIds, [4, 5, 6], StopCondition.EosOnly(10), SamplingOptions.Default)
        {
            TopLogProbs = top,
        }, null, default);
    }

    /// <summary>Each token's id is its candidate's, its text the id decoded alone, its bytes the id's own; alternatives best first.</summary>
    private void AssertTokens(IReadOnlyList<int> newIds, IReadOnlyList<TokenLogProb> tokens, int top)
    {
        Assert.Equal(newIds, tokens.Select(t => t.Id));
        foreach (var t in tokens)
        {
            Assert.Equal(Tokenizer.Decode([t.Id], skipSpecialTokens: false, cleanUpTokenizationSpaces: false), t.Token);
            Assert.Equal(Tokenizer.TokenBytes(t.Id).ToArray(), t.Bytes);
            Assert.True(t.LogProb <= 0);
            Assert.Equal(top, t.Top.Count);
            Assert.Equal(t.Top.Select(a => a.LogProb).OrderDescending(), t.Top.Select(a => a.LogProb));
            Assert.True(t.LogProb <= t.Top[0].LogProb);
            Assert.All(t.Top, a => Assert.Equal(Tokenizer.TokenBytes(a.Id).ToArray(), a.Bytes));
        }
    }

    [Fact]
    public async Task Sampled_candidates_carry_their_new_tokens_log_probabilities()
    {
        var batched = await Sample(top: 3);
        for (var i = 0; i < batched.Count; i++)
        {
            var newIds = batched[i].Ids.Skip(batched[i].Ids.Count - batched[i].NewTokens).ToList();
            AssertTokens(newIds, batched[i].LogProbs!, 3);
        }
        Assert.All(await Sample(top: null), c => Assert.Null(c.LogProbs));
    }

    [Fact]
    public async Task A_completion_carries_its_log_probabilities_when_asked()
    {
        await using var session = await tiny.Host.Generator.OpenSessionAsync(new SessionRequest(TinyHost.Image(), "q"), default);
        var request = new CompletionRequest("answer this", true, StopCondition.EosOnly(6), SamplingOptions.Default, 3);
        var plain = await session.CompleteAsync(request, null, default);
        var asked = await session.CompleteAsync(request with { TopLogProbs = 2 }, null, default);
        Assert.Null(plain.LogProbs);
        Assert.Equal(plain.Text, asked.Text);
        Assert.Equal(asked.Tokens, asked.LogProbs!.Count);
        Assert.Equal(asked.Text, Tokenizer.Decode(asked.LogProbs.Select(t => t.Id), skipSpecialTokens: true));
        AssertTokens(asked.LogProbs.Select(t => t.Id).ToList(), asked.LogProbs, 2);
    }

    [Theory]
    [InlineData(ReasoningMode.StageBeam)]
    [InlineData(ReasoningMode.TwoStage)]
    public async Task A_searchs_answer_has_the_log_probabilities_of_every_token_it_holds(ReasoningMode mode)
    {
        var request = new ReasonRequest("r", TinyHost.Image(), "What is this",
            new ReasonOptions { Mode = mode, BeamSize = 2, Seed = 3, MaxNewTokens = 8, TopLogProbs = 1 });
        var events = await SearchTests.Run(tiny.Host.Reasoner, request);
        var result = Assert.IsType<FinalAnswer>(events[^1]).Result;
        var tokens = result.LogProbs!;
        // The answer is every stage winner's tokens (two_stage: the answer call's), decoded as the search decodes them.
        var winners = mode == ReasoningMode.StageBeam ? result.Stages : result.Stages.Skip(1).ToList();
        Assert.Equal(winners.Sum(s => s.Candidates[s.Winner]), tokens.Count);
        Assert.Equal(result.Text, Tokenizer.Decode(tokens.Select(t => t.Id), skipSpecialTokens: true));
        Assert.All(tokens, t => Assert.Single(t.Top));
        Assert.All(events.OfType<StageWinner>(), w => Assert.Equal(w.Text, Tokenizer.Decode(w.LogProbs!.Select(t => t.Id), skipSpecialTokens: true)));
    }
}
