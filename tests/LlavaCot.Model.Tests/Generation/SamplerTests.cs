using System.Text.Json;
using LlavaCot.Model.Generation;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Generation;

public class SamplerTests
{
    private static readonly string CasesFile = Fixtures.Path("sampler", "cases.json");

    public static TheoryData<string> CaseNames()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(CasesFile));
        return new TheoryData<string>(doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()!));
    }

    /// <summary>HF's warpers on fixed logits: the kept tokens exactly, the probabilities within 1e-6.</summary>
    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Warping_matches_hf(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(CasesFile));
        var c = doc.RootElement.GetProperty("cases").EnumerateArray().Single(x => x.GetProperty("name").GetString() == name);
        var settings = new SamplingOptions(c.GetProperty("temperature").GetDouble(), c.GetProperty("top_k").GetInt32(), c.GetProperty("top_p").GetDouble());
        using var scope = NewDisposeScope();
        var logits = tensor(c.GetProperty("logits").EnumerateArray().Select(x => x.GetSingle()).ToArray()).view(1, -1);
        var warped = LogitsWarper.Warp(logits, settings)[0];
        var kept = Enumerable.Range(0, (int)warped.shape[0]).Where(i => !float.IsNegativeInfinity(warped[i].item<float>())).ToArray();
        Assert.Equal(c.GetProperty("kept").EnumerateArray().Select(x => x.GetInt32()), kept);
        var probs = LogitsWarper.Probabilities(logits, settings);
        var expected = tensor(c.GetProperty("probs").EnumerateArray().Select(x => x.GetSingle()).ToArray()).view(1, -1);
        TensorAssert.Close(expected, probs, 1e-6, $"{name} probs");
    }

    [Fact]
    public void Greedy_takes_the_argmax_of_each_row()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new float[] { 0, 5, 1, 9, 2, 3 }).view(2, 3);
        Assert.Equal([1L, 0L], TokenSampler.Sample(logits, new SamplingOptions(0, 50, 0.9), [() => 0.5, () => 0.5]));
    }

    [Fact]
    public void Draws_follow_each_rows_own_source_and_never_pick_removed_tokens()
    {
        using var scope = NewDisposeScope();
        var row = tensor(new float[] { 1f, 3f, 2f, -10f });
        var logits = stack([row, row]);
        var settings = new SamplingOptions(1, 2, 1);
        // Top-2 keeps ids 1 (p ≈ 0.731) and 2 (p ≈ 0.269); the draw walks them in index order.
        Assert.Equal([1L, 2L], TokenSampler.Sample(logits, settings, [() => 0.1, () => 0.99]));
        var counts = new int[4];
        var rng = new Random(3);
        for (var i = 0; i < 2000; i++)
            counts[TokenSampler.Sample(row.view(1, -1), settings, [rng.NextDouble])[0]]++;
        Assert.Equal(0, counts[0] + counts[3]);
        Assert.InRange(counts[1] / 2000.0, 0.69, 0.77);
    }
}
