using LlavaCot.Model.Generation;
using LlavaCot.Model.Tests.Mllama;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Generation;

/// <summary>The one decode loop: rows of one batch keep their own settings, randomness and stop rules.</summary>
public class DecoderTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    private static Func<double> Uniform(int seed)
    {
        var random = new Random(seed);
        return random.NextDouble;
    }

    /// <summary>Decodes <paramref name="rows"/> as one batch forked from case0's prompt; records the rows each step saw.</summary>
    private List<GeneratedSequence> Run(IReadOnlyList<SequenceSpec> rows, List<IReadOnlyList<int>>? steps = null)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, "case0");
        using var inputs = c.Inputs();
        using var image = ImageContext.Create(tiny.Model, inputs);
        using var prompt = tiny.Model.NewCache(1, inputs.Length);
        var logits = tiny.Model.Prefill(inputs.InputIds, prompt, image?.Kv, image?.Prompt).select(1, 0);
        using var fork = prompt.Fork(rows.Count, 16);
        return Decoder.Run(tiny.Model, fork, logits, image?.Kv, image?.Continuation, rows,
            observe: (l, active) =>
            {
                Assert.Equal(active.Count, l.shape[0]);
                steps?.Add(active.ToList());
            }).ToList();
    }

    [Fact]
    public void Rows_with_their_own_settings_and_stop_rules_decode_together_as_each_does_alone()
    {
        SequenceSpec[] Rows() =>
        [
            new(SamplingOptions.Greedy, () => 0, StopRule.Length(6)),
            new(new SamplingOptions(1.0, 0, 1), Uniform(1), StopRule.Length(3)),
            new(new SamplingOptions(0.7, 5, 0.9), Uniform(2), StopRule.Length(5)),
            new(SamplingOptions.Greedy, () => 0, StopRule.Length(0)),
        ];
        var steps = new List<IReadOnlyList<int>>();
        var together = Run(Rows(), steps);
        var alone = Rows().Select(r => Run([r])[0]).ToList();
        for (var i = 0; i < alone.Count; i++)
            Assert.Equal(alone[i].NewIds, together[i].NewIds);
        Assert.Equal([6, 3, 5, 0], together.Select(s => s.NewIds.Count));
        Assert.All(together, s => Assert.Equal(StopReason.MaxTokens, s.Reason));
        // Finished rows leave the batch: the empty one never enters it, the short one leaves after its third token.
        Assert.Equal([0, 1, 2], steps[0]);
        Assert.Equal([0, 2], steps[3]);
        Assert.Equal([0], steps[^1]);
    }

    [Fact]
    public void A_row_stops_on_its_own_end_ids_only()
    {
        var first = Run([new SequenceSpec(SamplingOptions.Greedy, () => 0, StopRule.Length(4))])[0].NewIds[0];
        var ending = new SequenceSpec(SamplingOptions.Greedy, () => 0, new StopRule(new HashSet<int> { first }, new StopCondition([], 4)));
        var plain = new SequenceSpec(SamplingOptions.Greedy, () => 0, StopRule.Length(4));
        var both = Run([ending, plain]);
        Assert.Equal(StopReason.EndOfSequence, both[0].Reason);
        Assert.Equal([first], both[0].NewIds);
        Assert.Equal(4, both[1].NewIds.Count);
    }

    [Fact]
    public void Stop_strings_without_a_tokenizer_are_refused()
    {
        var row = new SequenceSpec(SamplingOptions.Greedy, () => 0, new StopRule(new HashSet<int>(), new StopCondition(["."], 4)));
        Assert.Throws<ArgumentException>(() => Run([row]));
    }
}
