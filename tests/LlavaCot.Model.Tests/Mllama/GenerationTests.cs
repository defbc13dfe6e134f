using LlavaCot.Model.Generation;
using LlavaCot.Model.Text;
using LlavaCot.Tests;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Mllama;

public class GenerationTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    private const double Atol = 1e-4;

    [Theory]
    [MemberData(nameof(FixtureCase.TinyNames), MemberType = typeof(FixtureCase))]
    public void Cached_greedy_decode_reproduces_the_golden_ids_and_step_logits(string caseName)
    {
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, caseName);
        using var inputs = c.Inputs();
        var expectedIds = c.ReadIds("generated_new_ids");
        var (ids, steps) = Greedy(tiny.Model, inputs, expectedIds.Length);
        using (steps)
        {
            Assert.Equal(expectedIds, ids);
            using var expectedLogits = c.Read("generation_step_logits");
            TensorAssert.Close(expectedLogits, steps, Atol, $"{caseName}/generation_step_logits");
        }
    }

    public static TheoryData<string, bool> TinyNamesWidenedOrKept()
    {
        var data = new TheoryData<string, bool>();
        foreach (var name in FixtureCase.Names(Fixtures.MllamaTiny))
        {
            data.Add(name, false);
            data.Add(name, true);
        }
        return data;
    }

    /// <param name="kept">Linear weights and embedding tables stay bf16 in memory, widened as used (a CPU without bf16 arithmetic).</param>
    [Theory]
    [MemberData(nameof(TinyNamesWidenedOrKept))]
    public void Bf16_weights_with_fp32_compute_match_their_goldens(string caseName, bool kept)
    {
        using var model = MllamaModel.Load(Fixtures.MllamaTiny, weightsFile: "model.bf16.safetensors", matrixDType: kept ? ScalarType.BFloat16 : null);
        Assert.Equal(kept ? ScalarType.BFloat16 : ScalarType.Float32, model.MatrixDType);
        Assert.Equal(kept, model.parameters().Any(p => p.dtype == ScalarType.BFloat16));
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, caseName);
        using var inputs = c.Inputs();
        using (var expected = c.Read("logits_bf16_weights"))
        using (var logits = FullLogits(model, inputs))
            TensorAssert.Close(expected, logits, Atol, $"{caseName}/logits_bf16_weights");
        var expectedIds = c.ReadIds("generated_new_ids_bf16_weights");
        var (ids, steps) = Greedy(model, inputs, expectedIds.Length);
        steps.Dispose();
        Assert.Equal(expectedIds, ids);
    }

    [Fact]
    public void Sharded_folder_gives_the_same_logits_as_the_single_file()
    {
        using var sharded = MllamaModel.Load(Fixtures.Path("mllama-tiny", "sharded"));
        foreach (var name in FixtureCase.Names(Fixtures.MllamaTiny))
        {
            using var c = FixtureCase.Open(Fixtures.MllamaTiny, name);
            using var inputs = c.Inputs();
            using var a = FullLogits(tiny.Model, inputs);
            using var b = FullLogits(sharded, inputs);
            TensorAssert.Equal(a, b, $"{name}: sharded vs single logits");
        }
    }

    [Fact]
    public void Forked_cache_matches_independent_uncached_forwards()
    {
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, "case0");
        using var inputs = c.Inputs();
        long[] firstTokens = [65, 66, 67];
        const long secondToken = 10;
        var model = tiny.Model;
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        using var image = ImageContext.Create(model, inputs)!;
        using var prefix = model.NewCache(1, inputs.Length);
        model.Prefill(inputs.InputIds, prefix, image.Kv, image.Prompt);
        using var fork = prefix.Fork(firstTokens.Length, reserve: 2);
        var first = model.Decode(tensor(firstTokens).view(-1, 1), fork, image.Kv, image.Continuation);
        var second = model.Decode(full(firstTokens.Length, 1, secondToken, ScalarType.Int64), fork, image.Kv, image.Continuation);
        for (var i = 0; i < firstTokens.Length; i++)
        {
            var extended = cat([inputs.InputIds, tensor(new[] { firstTokens[i], secondToken }).view(1, 2)], 1);
            var dense = inputs.CrossAttentionMask!;
            var denseExtended = cat([dense, dense.narrow(1, dense.shape[1] - 1, 1).expand(-1, 2, -1, -1)], 1);
            using var mask = CrossAttentionBias.FromDense(denseExtended, model.Config.Vision.TokensPerTile, model.DType, model.Device);
            var uncached = model.Prefill(extended, null, image.Kv, mask, allLogits: true);
            var n = extended.shape[1];
            TensorAssert.Close(uncached.select(1, n - 2), first.select(1, 0).narrow(0, i, 1), Atol, $"fork {i}, first token");
            TensorAssert.Close(uncached.select(1, n - 1), second.select(1, 0).narrow(0, i, 1), Atol, $"fork {i}, second token");
        }
    }

    [Fact]
    public void Stacked_prompts_of_different_lengths_decode_like_separate_sequences()
    {
        var model = tiny.Model;
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, "case0");
        using var inputs = c.Inputs();
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        using var image = ImageContext.Create(model, inputs)!;
        var prompt = inputs.InputIds;
        // Two prompts sharing the image: the fixture prompt and a longer one with extra text after it.
        var longer = cat([prompt, tensor(new long[] { 32, 97, 98, 99, 100 }).view(1, -1)], 1);
        var dense = inputs.CrossAttentionMask!;
        Tensor Extend(long extra) => cat([dense, dense.narrow(1, dense.shape[1] - 1, 1).expand(-1, extra, -1, -1)], 1);
        using var longerMask = CrossAttentionBias.FromDense(Extend(5), model.Config.Vision.TokensPerTile, model.DType, model.Device);

        using var a = model.NewCache(1, 8);
        using var b = model.NewCache(1, 8);
        model.Prefill(prompt, a, image.Kv, image.Prompt);
        model.Prefill(longer, b, image.Kv, longerMask);
        using var stacked = KvCache.Stack([a, b], reserve: 4);
        Assert.Equal(new long[] { 5, 0 }, stacked.Padding);
        long[] next = [70, 71];
        var first = model.Decode(tensor(next).view(-1, 1), stacked, image.Kv, image.Continuation);
        var second = model.Decode(tensor(new long[] { 72, 73 }).view(-1, 1), stacked, image.Kv, image.Continuation);

        foreach (var (row, ids, extra) in new[] { (0, prompt, 0L), (1, longer, 5L) })
        {
            var full = cat([ids, tensor(new[] { next[row], 72L + row }).view(1, 2)], 1);
            using var mask = CrossAttentionBias.FromDense(Extend(extra + 2), model.Config.Vision.TokensPerTile, model.DType, model.Device);
            var reference = model.Prefill(full, null, image.Kv, mask, allLogits: true);
            var n = full.shape[1];
            TensorAssert.Close(reference.select(1, n - 2), first.narrow(0, row, 1).select(1, 0), Atol, $"row {row}, step 1");
            TensorAssert.Close(reference.select(1, n - 1), second.narrow(0, row, 1).select(1, 0), Atol, $"row {row}, step 2");
        }
    }

    [Fact]
    public void Decode_steps_leave_the_live_tensor_count_flat()
    {
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, "case0");
        using var inputs = c.Inputs();
        var model = tiny.Model;
        using var mode = inference_mode();
        using var image = ImageContext.Create(model, inputs)!;
        using var cache = model.NewCache(1, 8);
        using (var scope = NewDisposeScope())
            model.Prefill(inputs.InputIds, cache, image.Kv, image.Prompt);
        long Step(long token)
        {
            using var scope = NewDisposeScope();
            var logits = model.Decode(full(1, 1, token, ScalarType.Int64), cache, image.Kv, image.Continuation);
            return logits.argmax(-1).item<long>();
        }
        var token = Step(1);
        var baseline = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 200; i++)
            token = Step(token);
        Assert.Equal(baseline, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.True(cache.Length > 200);
    }

    [Fact]
    public void Positions_beyond_max_position_embeddings_are_computed()
    {
        var model = tiny.Model;
        var length = model.Config.Text.MaxPositionEmbeddings + 20;
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        var ids = arange(length, ScalarType.Int64).remainder(model.Config.Text.VocabSize).unsqueeze(0);
        var uncached = model.Prefill(ids, null, null, null, allLogits: true);
        using var cache = model.NewCache(1, 16);
        model.Prefill(ids.narrow(1, 0, length - 1), cache, null, null);
        var last = model.Decode(ids.narrow(1, length - 1, 1), cache, null, null);
        Assert.False(uncached.isnan().any().item<bool>());
        TensorAssert.Close(uncached.narrow(1, length - 1, 1), last, Atol, "decode past max_position_embeddings");
    }

    [Fact]
    public void Text_only_input_skips_the_cross_attention_layers()
    {
        var model = tiny.Model;
        using var trace = new ForwardTrace();
        using (inference_mode())
        using (var scope = NewDisposeScope())
            model.Prefill(tensor(new long[] { 256, 72, 105 }).view(1, 3), null, null, null, allLogits: true, trace: trace);
        trace.Stack();
        var outputs = trace.Tensors["text_layer_outputs"];
        foreach (var layer in model.Config.Text.CrossAttentionLayers)
        {
            using var input = layer == 0 ? trace.Tensors["text_embeddings"].alias() : outputs[layer - 1];
            using var output = outputs[layer];
            TensorAssert.Equal(input, output, $"cross-attention layer {layer} without an image");
        }
    }

    [Fact]
    public void Counters_report_vision_runs_prefill_tokens_and_decode_steps()
    {
        using var model = MllamaModel.Load(Fixtures.MllamaTiny);
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, "case0");
        using var inputs = c.Inputs();
        Greedy(model, inputs, 4).StepLogits.Dispose();
        Assert.Equal(1, model.Counters.VisionRuns);
        Assert.Equal(inputs.Length, model.Counters.PrefilledTokens);
        Assert.Equal(3, model.Counters.DecodeSteps);
        Assert.Equal(3, model.Counters.DecodedTokens);
    }

    [Fact]
    public void Bf16_compute_stays_close_to_fp32()
    {
        using var model = MllamaModel.Load(Fixtures.MllamaTiny, dtype: ScalarType.BFloat16);
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, "case0");
        using var inputs = c.Inputs();
        using var expected = c.Read("logits");
        using var logits = FullLogits(model, inputs);
        Assert.Equal(ScalarType.Float32, logits.dtype);
        var diff = TensorAssert.MaxAbsDiff(expected, logits);
        // The fixture measured 0.107 for HF's own bf16 compute; a wrong op would be off by O(1).
        Assert.True(diff < 0.5, $"bf16 logits differ from fp32 by {diff}");
    }

    private static Tensor FullLogits(MllamaModel model, Model.Inputs.ModelInputs inputs)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        using var image = ImageContext.Create(model, inputs);
        return model.Prefill(inputs.InputIds, null, image?.Kv, image?.Prompt, allLogits: true).MoveToOuterDisposeScope();
    }

    /// <summary>The one decode loop, greedy, on a single-row case: the new ids and each step's logits [steps, vocab].</summary>
    private static (long[] Ids, Tensor StepLogits) Greedy(MllamaModel model, Model.Inputs.ModelInputs inputs, int steps)
    {
        var observed = new List<Tensor>();
        var generated = Decoder.Generate(model, inputs, [new SequenceSpec(SamplingOptions.Greedy, () => 0, StopRule.Length(steps))],
            observe: (logits, _) => observed.Add(logits.select(0, 0).clone().DetachFromDisposeScope()));
        var stacked = stack(observed);
        observed.ForEach(t => t.Dispose());
        return (generated[0].NewIds.Select(i => (long)i).ToArray(), stacked);
    }
}
