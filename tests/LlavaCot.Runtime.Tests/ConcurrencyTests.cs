using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;

namespace LlavaCot.Runtime.Tests;

/// <summary>Several searches at once on one model: their sequences share decode steps, their results stay their own.</summary>
public class ConcurrencyTests(TinyHost tiny) : IClassFixture<TinyHost>
{
    private static ReasonRequest Request(string id, string image, ulong seed, ReasoningMode mode, int n = 2) =>
        new(id, TinyHost.Image(image), "What is this", new ReasonOptions { BeamSize = n, Seed = seed, MaxNewTokens = 12, Mode = mode });

    private static readonly ReasonRequest[] Four =
    [
        Request("a", "img0_50x30_rgb.png", 3, ReasoningMode.StageBeam),
        Request("b", "img2_96x96_rgb.png", 4, ReasoningMode.StageBeam, n: 3),
        Request("c", "img4_17x130_rgb.png", 5, ReasoningMode.BestOfN),
        Request("d", "img1_17x64_rgb.png", 6, ReasoningMode.SentenceBeam),
    ];

    [Fact]
    public async Task Requests_side_by_side_share_decode_steps_and_get_what_each_gets_alone()
    {
        var reasoner = tiny.Host.Reasoner;
        var alone = new List<string>();
        foreach (var r in Four)
            alone.Add(SearchTests.Signature(await SearchTests.Run(reasoner, r)));
        var peakAlone = tiny.Host.Worker.DecodeSteps.PeakRows;

        var together = await Task.WhenAll(Four.Select(r => Task.Run(() => SearchTests.Run(reasoner, r))));
        Assert.Equal(alone, together.Select(SearchTests.Signature));
        // Alone, a step holds one request's rows (at most 3 candidates, or a wave of judge calls); side by side, more.
        Assert.True(tiny.Host.Worker.DecodeSteps.PeakRows > peakAlone,
            $"no step held more rows together ({tiny.Host.Worker.DecodeSteps.PeakRows}) than alone ({peakAlone})");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task In_bf16_too_requests_side_by_side_get_what_each_gets_alone(bool computedInFp32)
    {
        using var bf16 = computedInFp32 ? TinyHost.Bf16WeightsFp32Compute() : TinyHost.Bf16();
        Assert.Equal(TorchSharp.torch.ScalarType.BFloat16, bf16.Host.Model.MatrixDType);
        Assert.Equal(computedInFp32 ? TorchSharp.torch.ScalarType.Float32 : TorchSharp.torch.ScalarType.BFloat16, bf16.Host.Model.DType);
        Assert.Equal(computedInFp32 ? "bfloat16 weights, float32 compute" : "bfloat16", bf16.Host.DType.Name);
        var reasoner = bf16.Host.Reasoner;
        var alone = new List<string>();
        foreach (var r in Four)
            alone.Add(SearchTests.Signature(await SearchTests.Run(reasoner, r)));
        var together = await Task.WhenAll(Four.Select(r => Task.Run(() => SearchTests.Run(reasoner, r))));
        Assert.Equal(alone, together.Select(SearchTests.Signature));
    }

    [Fact]
    public async Task Cancelling_one_of_four_leaves_the_others_unchanged_and_frees_its_tensors()
    {
        var reasoner = tiny.Host.Reasoner;
        var expected = new List<string>();
        foreach (var r in Four.Skip(1))
            expected.Add(SearchTests.Signature(await SearchTests.Run(reasoner, r)));
        var baseline = await tiny.Host.LiveTensorsWithoutCachesAsync();

        using var stop = new CancellationTokenSource();
        var cancelled = Task.Run(async () =>
        {
            var events = new List<ReasonEvent>();
            await foreach (var e in reasoner.ReasonAsync(Four[0], stop.Token))
            {
                events.Add(e);
                if (e is TokenDelta)
                    await stop.CancelAsync();
            }
            return events;
        });
        var others = Four.Skip(1).Select(r => Task.Run(() => SearchTests.Run(reasoner, r))).ToList();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(expected, (await Task.WhenAll(others)).Select(SearchTests.Signature));
        Assert.Equal(baseline, await tiny.Host.LiveTensorsWithoutCachesAsync());
    }

    [Fact]
    public async Task A_burst_of_sixteen_requests_leaves_no_tensor_behind()
    {
        var reasoner = tiny.Host.Reasoner;
        await SearchTests.Run(reasoner, Four[0]);
        var baseline = await tiny.Host.LiveTensorsWithoutCachesAsync();
        var burst = Enumerable.Range(0, 16).Select(i => Four[i % 4] with { RequestId = $"burst-{i}", Options = Four[i % 4].Options with { Seed = (ulong)(100 + i) } });
        var results = await Task.WhenAll(burst.Select(r => Task.Run(() => SearchTests.Run(reasoner, r))));
        Assert.All(results, events => Assert.IsType<FinalAnswer>(events[^1]));
        Assert.Equal(baseline, await tiny.Host.LiveTensorsWithoutCachesAsync());
    }
}
