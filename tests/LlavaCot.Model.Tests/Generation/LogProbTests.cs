using LlavaCot.Model.Generation;
using LlavaCot.Model.Tests.Mllama;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Generation;

/// <summary>Log-probabilities recorded while decoding: the raw log-softmax of the step's logits, the same for a row in any batch.</summary>
public class LogProbTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    private const double Tolerance = 1e-5;

    [Theory]
    [MemberData(nameof(FixtureCase.TinyNames), MemberType = typeof(FixtureCase))]
    public void A_greedy_decode_records_the_log_softmax_of_the_golden_step_logits_at_each_token(string caseName)
    {
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, caseName);
        using var inputs = c.Inputs();
        var expectedIds = c.ReadIds("generated_new_ids");
        var generated = Decoder.Generate(tiny.Model, inputs,
            [new SequenceSpec(SamplingOptions.Greedy, () => 0, StopRule.Length(expectedIds.Length), TopLogProbs: 5)])[0];
        Assert.Equal(expectedIds, generated.NewIds.Select(i => (long)i));
        var recorded = generated.LogProbs!;
        Assert.Equal(expectedIds.Length, recorded.Count);

        using var scope = NewDisposeScope();
        using var stepLogits = c.Read("generation_step_logits");
        var golden = stepLogits.to(ScalarType.Float64).log_softmax(-1);
        for (var step = 0; step < recorded.Count; step++)
        {
            var r = recorded[step];
            var row = golden[step];
            Assert.Equal(generated.NewIds[step], r.Token);
            Assert.True(Math.Abs(r.LogProb - row[r.Token].item<double>()) <= Tolerance,
                $"{caseName} step {step}: {r.LogProb} against {row[r.Token].item<double>()}");
            Assert.True(r.LogProb <= 0);
            // Greedy: the best alternative is the token chosen; the five are the golden five, best first.
            Assert.Equal(r.Token, r.TopIds[0]);
            var (values, ids) = row.topk(5);
            Assert.Equal(ids.data<long>().ToArray(), r.TopIds.Select(i => (long)i));
            for (var k = 0; k < 5; k++)
                Assert.True(Math.Abs(r.TopLogProbs[k] - values[k].item<double>()) <= Tolerance, $"{caseName} step {step}, alternative {k}");
        }
    }

    private static Func<double> Uniform(int seed) => new Random(seed).NextDouble;

    /// <summary>Decodes <paramref name="rows"/> as one batch forked from case0's prompt, handing each step's logits to <paramref name="observe"/>.</summary>
    private List<GeneratedSequence> Run(IReadOnlyList<SequenceSpec> rows, Decoder.LogitsObserver? observe = null)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, "case0");
        using var inputs = c.Inputs();
        using var image = ImageContext.Create(tiny.Model, inputs);
        using var prompt = tiny.Model.NewCache(1, inputs.Length);
        var logits = tiny.Model.Prefill(inputs.InputIds, prompt, image?.Kv, image?.Prompt).select(1, 0);
        using var fork = prompt.Fork(rows.Count, 16);
        return Decoder.Run(tiny.Model, fork, logits, image?.Kv, image?.Continuation, rows, observe: observe).ToList();
    }

    /// <summary>Each request's rows forked from its case's prompt, all decoded together by the scheduler (as concurrent searches are).</summary>
    private List<IReadOnlyList<GeneratedSequence>> Scheduled(params (string Case, SequenceSpec[] Rows)[] requests)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        var owned = new List<IDisposable>();
        try
        {
            var scheduler = new StepScheduler(64);
            var done = requests.Select(r =>
            {
                using var c = FixtureCase.Open(Fixtures.MllamaTiny, r.Case);
                var inputs = c.Inputs();
                var image = ImageContext.Create(tiny.Model, inputs);
                var prompt = tiny.Model.NewCache(1, inputs.Length);
                owned.AddRange([inputs, prompt]);
                if (image is not null)
                    owned.Add(image);
                var logits = tiny.Model.Prefill(inputs.InputIds, prompt, image?.Kv, image?.Prompt).select(1, 0);
                var fork = prompt.Fork(r.Rows.Length, 16);
                return scheduler.Join(new DecodeJob(tiny.Model, fork, logits, image?.Kv, image?.Continuation, r.Rows, owned: [fork]));
            }).ToList();
            while (scheduler.HasWork)
                scheduler.Step();
            return done.Select(t => t.Result).ToList();
        }
        finally
        {
            owned.ForEach(o => o.Dispose());
        }
    }

    [Fact]
    public void A_requests_log_probabilities_are_the_same_bits_alone_or_beside_other_requests_rows()
    {
        SequenceSpec[] First() => [new(SamplingOptions.Greedy, () => 0, StopRule.Length(6), TopLogProbs: 3)];
        SequenceSpec[] Second() =>
        [
            new(new SamplingOptions(1.0, 0, 1), Uniform(1), StopRule.Length(4), TopLogProbs: 20),
            new(new SamplingOptions(0.7, 5, 0.9), Uniform(2), StopRule.Length(5)),
            new(new SamplingOptions(0.7, 5, 0.9), Uniform(3), StopRule.Length(6), TopLogProbs: 0),
        ];
        var together = Scheduled(("case0", First()), ("case1", Second()));
        var alone = new[] { Scheduled(("case0", First()))[0], Scheduled(("case1", Second()))[0] };
        Assert.Equal([3, 20], new[] { together[0][0], together[1][0] }.Select(s => s.LogProbs![0].TopIds.Count));
        Assert.Null(together[1][1].LogProbs);
        Assert.All(together[1][2].LogProbs!, s => Assert.Empty(s.TopIds));
        for (var request = 0; request < 2; request++)
        {
            for (var row = 0; row < alone[request].Count; row++)
            {
                var (a, t) = (alone[request][row], together[request][row]);
                Assert.Equal(a.NewIds, t.NewIds);
                Assert.Equal(a.LogProbs is null, t.LogProbs is null);
                if (t.LogProbs is null)
                    continue;
                Assert.Equal(t.NewIds, t.LogProbs.Select(s => s.Token));
                Assert.Equal(Bits(a.LogProbs!), Bits(t.LogProbs));
            }
        }
    }

    [Fact]
    public void A_rows_log_probabilities_do_not_depend_on_the_rows_computed_beside_it()
    {
        using var scope = NewDisposeScope();
        // A vocabulary the size of Llama 3's; the rows ask for different numbers of alternatives, or none.
        using var generator = new Generator(5);
        var logits = randn(4, 128_256, generator: generator) * 4;
        long[] tokens = [7, 100_000, 3, 42];
        var together = SampledLogProbs.Of(logits, tokens, [2, 20, null, 0]);
        for (var r = 0; r < 4; r++)
        {
            var alone = SampledLogProbs.Of(logits.narrow(0, r, 1), [tokens[r]], [new int?[] { 2, 20, null, 0 }[r]])[0];
            Assert.Equal(alone is null, together[r] is null);
            if (alone is not null)
                Assert.Equal(Bits([alone]), Bits([together[r]!]));
        }
        Assert.Null(together[2]);
        Assert.Equal([2, 20, 0], new[] { 0, 1, 3 }.Select(r => together[r]!.TopIds.Count));
    }

    private static List<string> Bits(IReadOnlyList<SampledLogProbs> steps) => steps.Select(s =>
        $"{s.Token}:{BitConverter.SingleToInt32Bits(s.LogProb)}:{string.Join(",", s.TopIds)}:" +
        string.Join(",", s.TopLogProbs.Select(BitConverter.SingleToInt32Bits))).ToList();

    [Fact]
    public void A_sampled_rows_log_probabilities_are_those_of_the_raw_logits_before_temperature_top_k_and_top_p()
    {
        var raw = new List<float>();
        var generated = Run([new SequenceSpec(new SamplingOptions(0.5, 3, 0.8), Uniform(4), StopRule.Length(5), TopLogProbs: 1)],
            (logits, _) => raw.Add(logits.log_softmax(-1)[0].max().item<float>()))[0];
        var recorded = generated.LogProbs!;
        Assert.Equal(5, recorded.Count);
        // The best token's log-probability is the raw one (warping at temperature 0.5 would make it larger).
        Assert.Equal(raw, recorded.Select(s => s.TopLogProbs[0]));
        Assert.All(recorded, s => Assert.True(s.LogProb <= s.TopLogProbs[0]));
    }

    [Fact]
    public void More_than_twenty_alternatives_are_refused()
    {
        var row = new SequenceSpec(SamplingOptions.Greedy, () => 0, StopRule.Length(2), TopLogProbs: SampledLogProbs.MaxTop + 1);
        Assert.Throws<ArgumentException>(() => Run([row]));
    }
}
