using LlavaCot.Model.Generation;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Generation;

/// <summary>Top-p without sorting the tokens: the same tokens as HF's sort-based top-p, on a real-size vocabulary.</summary>
public class TopPTests
{
    /// <summary>HF's TopPLogitsWarper as its source reads (min_tokens_to_keep 1), on libtorch's sort.</summary>
    private static Tensor HfTopP(Tensor scores, double topP)
    {
        var (sorted, order) = scores.sort(-1, descending: false);
        var remove = sorted.softmax(-1).cumsum(-1).le(1 - topP);
        remove.narrow(-1, remove.shape[^1] - 1, 1).fill_(false);
        return scores.masked_fill(remove.scatter(-1, order, remove), float.NegativeInfinity);
    }

    [Theory]
    [InlineData(0.6, 0, 0.9, false, true)]
    [InlineData(0.3, 0, 0.5, false, true)]
    [InlineData(1.0, 0, 0.99, false, true)]
    [InlineData(0.6, 50, 0.9, false, true)]
    [InlineData(0.6, 0, 0.9, true, true)]
    [InlineData(0.9, 0, 0.95, true, true)]
    [InlineData(1.0, 0, 0.9, true, false)]
    public void Keeps_exactly_the_tokens_hf_keeps(double temperature, int topK, double topP, bool bf16Logits, bool peaked)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(5);
        // Language-model-like logits: a long flat tail and a few high ones; bf16 logits tie often, and without the
        // peak (random weights) the cut falls deep in the tail, among ties.
        var logits = randn(6, 128256, generator: generator).mul_(2);
        if (peaked)
            logits.narrow(1, 1000, 40).add_(randn(6, 40, generator: generator).mul_(3).add_(12));
        if (bf16Logits)
            logits = logits.to(ScalarType.BFloat16).to(ScalarType.Float32);
        var settings = new SamplingOptions(temperature, topK, topP);

        var warped = LogitsWarper.Warp(logits, settings);
        var reference = LogitsWarper.Warp(logits, settings with { TopP = 1.0 });
        reference = HfTopP(reference, topP);
        Assert.True(warped.equal(reference).all().item<bool>(), "warped scores differ from HF's top-p");
        var kept = warped.isfinite().sum(-1).data<long>().ToArray();
        Assert.All(kept, k => Assert.InRange(k, 1, 128255));
    }

    [Fact]
    public void A_tie_across_the_cut_is_decided_as_hfs_sort_decides_it()
    {
        using var scope = NewDisposeScope();
        // Two tokens tie at the value where the cut falls: which one HF keeps depends on its sort's order of ties.
        var logits = tensor(new float[] { 0f, 1f, 1f, 5f, 0.5f, 1f }).view(1, -1);
        foreach (var topP in new[] { 0.94, 0.95, 0.96 })
            Assert.True(LogitsWarper.Warp(logits, new SamplingOptions(1, 0, topP)).equal(HfTopP(logits, topP)).all().item<bool>(), $"top_p {topP}");
    }

    [Fact]
    public void The_radix_sort_orders_every_kind_of_float_as_a_comparison_sort_does()
    {
        var random = new Random(9);
        var values = Enumerable.Range(0, 5000).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-40, 39))))
            .Concat([0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, 1f, 1f])
            .ToArray();
        var sorted = new float[values.Length];
        FloatRadixSort.Ascending(values, sorted);
        var expected = values.ToArray();
        Array.Sort(expected);
        Assert.Equal(expected, sorted);
    }
}
