using LlavaCot.Model.Generation;
using LlavaCot.Model.Inputs;
using LlavaCot.Reasoning;
using static TorchSharp.torch;

namespace LlavaCot.Runtime.Tests;

/// <summary>The port's scoring on the tiny model: a full forward's log-softmax, prefill only, the same in any batch.</summary>
public class ScoringTests(TinyHost tiny) : IClassFixture<TinyHost>
{
    private static readonly DateOnly Date = new(2026, 12, 6);

    private Task<IGenerationSession> Open() =>
        tiny.Host.Generator.OpenSessionAsync(new SessionRequest(TinyHost.Image(), "What is this", Date), default);

    /// <summary>
    /// The reference: one forward of the whole prompt and continuation, without caches, and the log-softmax of the
    /// logits at the positions that predict the continuation's tokens.
    /// </summary>
    private Task<double[]> FullForward(string userText, bool withImage, string continuation) => tiny.Host.Worker.RunAsync(() =>
    {
        using var scope = NewDisposeScope();
        var inputs = tiny.Host.Generator.Inputs;
        var prompt = inputs.Tokenizer.Encode(inputs.Prompt(userText, withImage, Date));
        var next = inputs.Tokenizer.EncodeUser(continuation);
        using var image = withImage ? inputs.Images.Process(ImageDecoder.Decode(TinyHost.Image())) : null;
        using var model = inputs.FromIds([.. prompt, .. next], image);
        using var context = ImageContext.Create(tiny.Host.Model, model);
        var logProbs = tiny.Host.Model.Prefill(model.InputIds, null, context?.Kv, context?.Prompt, allLogits: true)[0].log_softmax(-1);
        return next.Select((id, k) => (double)logProbs[prompt.Count - 1 + k, id].item<float>()).ToArray();
    });

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Scoring_gives_a_full_forwards_log_softmax_at_every_continuation_token(bool withImage)
    {
        const string text = "Is the square red? It is.";
        await using var session = await Open();
        var results = await session.ScoreAsync([new ScoreRequest("Is the square red? ", "It is.", withImage, ["correct", "incorrect"])], default);

        var result = Assert.Single(results);
        foreach (var (continuation, k) in new[] { ("correct", 0), ("incorrect", 1) })
        {
            var expected = await FullForward(text, withImage, continuation);
            Assert.Equal(expected.Length, result.TokenLogProbs[k].Count);
            Assert.True(expected.Length > 1, "the tiny model's byte tokens make every verdict several tokens long");
            for (var i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - result.TokenLogProbs[k][i]) <= 1e-5, $"{continuation} token {i}: {result.TokenLogProbs[k][i]} vs {expected[i]}");
        }
    }

    [Fact]
    public async Task Scoring_decodes_nothing_and_counts_its_tokens()
    {
        await using var session = await Open();
        var before = session.Cost!;
        var results = await session.ScoreAsync([new ScoreRequest("Verify: ", "a red square.", true, ["correct", "incorrect"])], default);
        var after = session.Cost!;

        Assert.Equal(before.DecodedTokens, after.DecodedTokens);
        Assert.True(after.PrefilledTokens > before.PrefilledTokens);
        var prompt = tiny.Host.Generator.Inputs.Tokenizer.Encode(tiny.Host.Generator.Inputs.Prompt("Verify: a red square.", true, Date));
        Assert.Equal(prompt.Count + "correct".Length + "incorrect".Length, results[0].Tokens);
    }

    /// <summary>
    /// A candidate's scores are the same bits first, last or alone in a batch: its instruction is prefilled as a chunk of
    /// its own (or found whole in the prefix cache), then the candidate (<see cref="ReferencePatternTests"/> compares it with
    /// one scored from nothing).
    /// </summary>
    [Fact]
    public async Task A_candidates_scores_are_the_same_bits_alone_or_anywhere_in_a_batch()
    {
        ScoreRequest Verify(string candidate) => new("Verify this answer to the question. Answer: ", candidate, true, ["correct", "incorrect"]);
        await using var session = await Open();
        var last = await session.ScoreAsync([Verify("two red squares"), Verify("three"), Verify("one blue circle")], default);
        var first = await session.ScoreAsync([Verify("one blue circle"), Verify("four")], default);
        var alone = await session.ScoreAsync([Verify("one blue circle")], default);

        Assert.Equal(last[2].TokenLogProbs, first[0].TokenLogProbs);
        Assert.Equal(last[2].TokenLogProbs, alone[0].TokenLogProbs);
        Assert.NotEqual(last[0].TokenLogProbs, last[2].TokenLogProbs);
    }
}
