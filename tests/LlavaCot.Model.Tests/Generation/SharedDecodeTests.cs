using LlavaCot.Model.Generation;
using LlavaCot.Model.Tests.Mllama;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Generation;

/// <summary>One decode step over several requests: each keeps its own cache and image, as if it ran alone.</summary>
public class SharedDecodeTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    private sealed record Request(KvCache Prompt, Tensor FirstLogits, CrossAttentionCache? Kv, Text.CrossAttentionBias? Continuation, int Rows);

    private static Request WithImage(MllamaModel model, string caseName, int rows, List<IDisposable> owned)
    {
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, caseName);
        var inputs = c.Inputs();
        var image = ImageContext.Create(model, inputs)!;
        var cache = model.NewCache(1, inputs.Length);
        var logits = model.Prefill(inputs.InputIds, cache, image.Kv, image.Prompt).select(1, 0);
        owned.AddRange([inputs, image, cache]);
        return new Request(cache, logits, image.Kv, image.Continuation, rows);
    }

    private static KvCache TextOnly(MllamaModel model, int length, int offset, List<IDisposable> owned)
    {
        var cache = model.NewCache(1, length);
        model.Prefill(arange(offset, offset + length, 1, ScalarType.Int64).view(1, -1), cache, null, null);
        owned.Add(cache);
        return cache;
    }

    [Fact]
    public void In_fp32_the_rows_of_a_shared_step_are_bit_for_bit_what_each_request_gets_alone() => Check(tiny.Model);

    [Fact]
    public void In_bf16_the_rows_of_a_shared_step_are_bit_for_bit_what_each_request_gets_alone()
    {
        using var bf16 = MllamaModel.Load(Fixtures.MllamaTiny, dtype: ScalarType.BFloat16);
        Check(bf16);
    }

    [Fact]
    public void With_bf16_weights_computed_in_fp32_the_rows_of_a_shared_step_are_bit_for_bit_what_each_request_gets_alone()
    {
        using var kept = MllamaModel.Load(Fixtures.MllamaTiny, matrixDType: ScalarType.BFloat16);
        Check(kept);
    }

    /// <summary>Bit for bit: decode steps pad libtorch's GEMM to a row count that gives each row the same bits in any company.</summary>
    private static void Check(MllamaModel model)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        var owned = new List<IDisposable>();
        try
        {
            // Two images (two candidates of one, one of the other), a text-only prompt, and two text prompts of
            // different lengths stacked right-aligned (judge calls of a knockout wave).
            var a = WithImage(model, "case0", 2, owned);
            var b = WithImage(model, "case1", 1, owned);
            var text = TextOnly(model, 7, 3, owned);
            var (shortText, longText) = (TextOnly(model, 4, 11, owned), TextOnly(model, 9, 20, owned));
            KvCache[] Caches() => [a.Prompt.Fork(a.Rows, 8), b.Prompt.Fork(b.Rows, 8), text.Fork(1, 8), KvCache.Stack([shortText, longText], 8)];
            (CrossAttentionCache?, Text.CrossAttentionBias?)[] images = [(a.Kv, a.Continuation), (b.Kv, b.Continuation), (null, null), (null, null)];
            var alone = Caches();
            var together = Caches();
            owned.AddRange(alone);
            owned.AddRange(together);
            var tokens = alone.Select((c, i) => full(c.Batch, 1, 5L + i, ScalarType.Int64)).ToArray();
            for (var step = 0; step < 3; step++)
            {
                var each = alone.Select((c, i) => model.Decode(tokens[i], c, images[i].Item1, images[i].Item2).select(1, 0)).ToList();
                var shared = model.Decode(together.Select((c, i) => new DecodeRows(tokens[i], c, images[i].Item1, images[i].Item2)).ToList())
                    .select(1, 0);
                var expected = cat(each, 0);
                Assert.True(expected.equal(shared).all().item<bool>(), $"step {step}: max difference {(expected - shared).abs().max().item<float>()}");
                Assert.Equal(expected.argmax(-1).data<long>().ToArray(), shared.argmax(-1).data<long>().ToArray());
                var next = expected.argmax(-1);
                var row = 0L;
                for (var i = 0; i < tokens.Length; i++)
                {
                    tokens[i] = next.narrow(0, row, alone[i].Batch).view(-1, 1);
                    row += alone[i].Batch;
                }
            }
            Assert.All(together.Zip(alone), p => Assert.Equal(p.Second.Length, p.First.Length));
        }
        finally
        {
            owned.ForEach(o => o.Dispose());
        }
    }
}
