using LlavaCot.Model.Generation;
using LlavaCot.Model.Tests.Mllama;
using LlavaCot.Tests;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Generation;

/// <summary>Model work in slices: a vision pass a layer at a time, a prompt a chunk at a time.</summary>
public class SteppedWorkTests(TinyModelFixture tiny, ITestOutputHelper output) : IClassFixture<TinyModelFixture>
{
    [Theory]
    [MemberData(nameof(FixtureCase.TinyNames), MemberType = typeof(FixtureCase))]
    public void A_vision_pass_layer_by_layer_gives_the_bits_of_a_whole_one(string caseName)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, caseName);
        using var inputs = c.Inputs();
        if (!inputs.HasImages)
            return;
        var m = tiny.Model;
        var steps = m.EncodeSteps(inputs.PixelValues!, inputs.AspectRatioIds!, inputs.AspectRatioMask!).ToList();
        Assert.Equal(m.EncodeStepCount, steps.Count);
        Assert.All(steps.SkipLast(1), s => Assert.Null(s));
        using var stepped = steps[^1]!;
        using var whole = m.PrecomputeCrossAttention(m.EncodeImages(inputs.PixelValues!, inputs.AspectRatioIds!, inputs.AspectRatioMask!));
        var pairs = stepped.Tensors.Zip(whole.Tensors).ToList();
        Assert.Equal(whole.Tensors.Count(), pairs.Count);
        Assert.All(pairs, p =>
        {
            Assert.Equal(p.Second.shape, p.First.shape);
            Assert.Equal(0f, (p.First - p.Second).abs().max().item<float>());
        });
    }

    [Fact]
    public void Chunk_ends_are_multiples_of_the_chunk_size_from_the_prompts_start()
    {
        Assert.Equal([(5, 8), (8, 16), (16, 20)], ChunkedPrefill.Chunks(5, 20, 8));
        Assert.Equal([(0, 8), (8, 16)], ChunkedPrefill.Chunks(0, 16, 8));
        Assert.Equal([(3, 20)], ChunkedPrefill.Chunks(3, 20, 0));
        Assert.Empty(ChunkedPrefill.Chunks(20, 20, 8));
    }

    /// <summary>
    /// A chunked prefill is not bit for bit a whole one (libtorch blocks its GEMM by row count): the test measures the
    /// difference on every fixture prompt and chunk size, and holds it to the fixtures' fp32 tolerance with the same
    /// greedy tokens.
    /// </summary>
    [Fact]
    public void A_chunked_prefill_matches_a_whole_one_within_fp32_tolerance_and_decodes_the_same_tokens()
    {
        using var mode = inference_mode();
        var m = tiny.Model;
        var (runs, changed, bitExact, worst) = (0, 0, 0, 0.0);
        foreach (var name in FixtureCase.Names(Fixtures.MllamaTiny))
        {
            using var scope = NewDisposeScope();
            using var c = FixtureCase.Open(Fixtures.MllamaTiny, name);
            using var inputs = c.Inputs();
            if (inputs.InputIds.shape[0] != 1)
                continue;
            using var image = ImageContext.Create(m, inputs);
            var ids = inputs.InputIds[0].data<long>().Select(i => (int)i).ToList();
            var dense = inputs.CrossAttentionMask;
            var (wholeLogits, wholeIds) = Run(m, ids, image, dense, chunk: 0);
            foreach (var chunk in new[] { 1, 2, 3, 5, 8 })
            {
                var (logits, newIds) = Run(m, ids, image, dense, chunk);
                var diff = (logits - wholeLogits).abs().max().item<float>();
                worst = Math.Max(worst, diff);
                bitExact += diff == 0 ? 1 : 0;
                changed += newIds.SequenceEqual(wholeIds) ? 0 : 1;
                runs++;
            }
        }
        output.WriteLine($"{runs} chunked prefills: {bitExact} bit-exact, largest logit difference {worst:E2}, {changed} with other greedy tokens");
        Assert.True(runs > 0);
        Assert.True(worst <= 1e-4, $"largest logit difference {worst}");
        Assert.Equal(0, changed);
    }

    /// <summary>Chunks other than the last skip the output head; without logits asked, the last one too: the cache is the same.</summary>
    [Fact]
    public void A_prefill_without_logits_fills_the_same_cache_and_runs_no_head()
    {
        var m = tiny.Model;
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        var ids = Enumerable.Range(3, 19).ToList();
        Tensor Next(bool logits, out PrefillResult result)
        {
            using var cache = m.NewCache(1, ids.Count + 2);
            result = new PrefillResult();
            foreach (var _ in ChunkedPrefill.Run(m, ids, 0, cache, null, (_, _) => null, 4, result, logits))
            {
            }
            return m.Prefill(tensor(new long[] { 7 }).view(1, 1), cache, null, null);
        }
        var with = Next(true, out var withResult);
        var without = Next(false, out var withoutResult);
        Assert.NotNull(withResult.Logits);
        Assert.Null(withoutResult.Logits);
        Assert.True(with.equal(without).all().item<bool>());
    }

    private static (Tensor Logits, List<int> Ids) Run(MllamaModel m, IReadOnlyList<int> ids, ImageContext? image, Tensor? dense, int chunk)
    {
        using var cache = m.NewCache(1, ids.Count + 8);
        var result = new PrefillResult();
        Text.CrossAttentionBias? Rows(int start, int end) => image is null ? null
            : Text.CrossAttentionBias.FromDense(dense!.narrow(1, start, end - start), m.Config.Vision.TokensPerTile, m.DType, m.Device);
        foreach (var _ in ChunkedPrefill.Run(m, ids, 0, cache, image?.Kv, Rows, chunk, result))
        {
        }
        result.Continuation?.Dispose();
        var logits = result.Logits!;
        var rows = new[] { new SequenceSpec(SamplingOptions.Greedy, () => 0, StopRule.Length(6)) };
        var generated = Decoder.Run(m, cache, logits, image?.Kv, image?.Continuation, rows)[0];
        return (logits, generated.NewIds.ToList());
    }
}
