using LlavaCot.Model.Generation;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.Tests.Mllama;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Generation;

/// <summary>One request's decode job on its own: rows leave as they finish, feeding counts, the text each row released.</summary>
public class DecodeJobTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    [Fact]
    public void Rows_leave_as_they_finish_and_the_job_feeds_only_the_rows_that_go_on()
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, "case0");
        using var inputs = c.Inputs();
        using var image = ImageContext.Create(tiny.Model, inputs);
        using var prompt = tiny.Model.NewCache(1, inputs.Length);
        var first = tiny.Model.Prefill(inputs.InputIds, prompt, image?.Kv, image?.Prompt).select(1, 0);
        var fork = prompt.Fork(2, 8);
        var tokenizer = TokenizerLoader.Load(Fixtures.MllamaTiny, tiny.Model.Config);
        SequenceSpec Row(int length) => new(SamplingOptions.Greedy, () => 0, StopRule.Length(length), SkipSpecialTokens: false);
        using var job = new DecodeJob(tiny.Model, fork, first, image?.Kv, image?.Continuation, [Row(3), Row(6)], tokenizer, owned: [fork]);
        var rowsPerStep = new List<long>();
        while (job.Step() is { } next)
        {
            rowsPerStep.Add(next.Cache.Batch);
            using var step = NewDisposeScope();
            job.Receive(tiny.Model.Decode([next]).select(1, 0));
            next.Ids.Dispose();
        }
        // The short row leaves after its third token; the long one runs alone to its sixth.
        Assert.Equal([2L, 2, 1, 1, 1], rowsPerStep);
        Assert.Equal(2 + 5, job.Fed);
        var results = job.Results;
        Assert.Equal([3, 6], results.Select(r => r.NewIds.Count));
        Assert.All(results, r => Assert.Equal(StopReason.MaxTokens, r.Reason));
        Assert.All(results, r => Assert.Equal(tokenizer.Decode(r.NewIds, skipSpecialTokens: false), r.Text));
        // Greedy rows of one prompt agree as far as both go.
        Assert.Equal(results[0].NewIds, results[1].NewIds.Take(3));
    }
}
