using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;
using LlavaCot.Tests;

namespace LlavaCot.Runtime.Tests;

/// <summary>The prefix cache shared by the requests on one model.</summary>
public class PrefixCacheTests
{
    private static ReasonRequest Request(ulong seed, string image = "img0_50x30_rgb.png") =>
        new("r", TinyHost.Image(image), "What is this", new ReasonOptions { BeamSize = 2, Seed = seed, MaxNewTokens = 10 });

    private static Task<ModelHost> Host(long? prefixBytes) =>
        ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = Fixtures.MllamaTiny, Device = "cpu", PrefixCacheBytes = prefixBytes });

    private static ModelCost Cost(List<ReasonEvent> events) => Assert.IsType<FinalAnswer>(events[^1]).Result.Cost!;

    [Fact]
    public async Task A_second_search_reuses_what_the_first_left_and_its_cost_says_so()
    {
        using var host = await Host(prefixBytes: null);
        var first = await SearchTests.Run(host.Reasoner, Request(7));
        var again = await SearchTests.Run(host.Reasoner, Request(7));
        var other = await SearchTests.Run(host.Reasoner, Request(8, "img2_96x96_rgb.png"));
        Assert.Equal(SearchTests.Signature(first), SearchTests.Signature(again));
        // The retry's prompt, judge prompts and pre-checks are all cached: it prefills less, every prompt a hit.
        Assert.True(Cost(again).PrefilledTokens < Cost(first).PrefilledTokens, $"{Cost(again).PrefilledTokens} vs {Cost(first).PrefilledTokens}");
        Assert.Equal(0, Cost(again).PrefixCacheMisses);
        Assert.True(Cost(again).PrefixCacheHits > 0);
        // Another image shares no prompt with it (rows before the image token attend to the image).
        Assert.True(Cost(other).PrefixCacheMisses > 0);
        var cache = host.Generator.PrefixCache;
        Assert.Equal(cache.Hits, new[] { first, again, other }.Sum(e => Cost(e).PrefixCacheHits));
        Assert.Equal(cache.Misses, new[] { first, again, other }.Sum(e => Cost(e).PrefixCacheMisses));
        Assert.InRange(cache.Bytes, 1, cache.BudgetBytes);
    }

    [Fact]
    public async Task With_no_room_only_running_stage_chains_are_kept_and_the_searches_are_unchanged()
    {
        using var roomy = await Host(prefixBytes: 1L << 30);
        using var none = await Host(prefixBytes: 0);
        var costs = new List<(ModelCost Kept, ModelCost Evicted)>();
        foreach (var seed in new ulong[] { 3, 4 })
        {
            var kept = await SearchTests.Run(roomy.Reasoner, Request(seed));
            var evicted = await SearchTests.Run(none.Reasoner, Request(seed));
            Assert.Equal(SearchTests.Signature(kept), SearchTests.Signature(evicted));
            costs.Add((Cost(kept), Cost(evicted)));
        }
        // Within a search the pinned chain still saves each stage's prefill; between searches nothing is left.
        Assert.Equal(0, none.Generator.PrefixCache.Bytes);
        Assert.True(roomy.Generator.PrefixCache.Bytes > 0);
        Assert.True(costs[1].Evicted.PrefilledTokens > costs[1].Kept.PrefilledTokens);
        Assert.True(none.Generator.PrefixCache.Evictions > 0);
        Assert.Equal(0, roomy.Generator.PrefixCache.Evictions);
    }
}
