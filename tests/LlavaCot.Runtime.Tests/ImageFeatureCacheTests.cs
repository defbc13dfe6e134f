using LlavaCot.Model.Generation;
using static TorchSharp.torch;

namespace LlavaCot.Runtime.Tests;

/// <summary>The shared image-feature cache on its own: leases, the budget, least-recently-used eviction.</summary>
public class ImageFeatureCacheTests
{
    /// <summary>Features of <paramref name="floats"/> fp32 values (4 bytes each) in one cross layer.</summary>
    private static ImageFeatures Features(int floats)
    {
        var kv = new CrossAttentionCache();
        kv.Set(0, zeros(floats / 2), zeros(floats - floats / 2));
        return new ImageFeatures(kv, [1]);
    }

    private static bool Freed(ImageFeatures f) => f.Kv.Tensors.Any() == false;

    [Fact]
    public void A_miss_is_added_and_leased_and_a_later_lookup_hits()
    {
        using var cache = new ImageFeatureCache(1000);
        Assert.Null(cache.TryRent("a"));
        var features = Features(100);
        using (cache.Add("a", features, out var evicted))
            Assert.Equal(0, evicted);
        using var again = cache.TryRent("a");
        Assert.Same(features, again!.Features);
        Assert.Equal((1L, 1L, 400L), (cache.Hits, cache.Misses, cache.Bytes));
    }

    [Fact]
    public void Past_the_budget_the_least_recently_used_unleased_entry_goes_and_a_leased_one_stays()
    {
        using var cache = new ImageFeatureCache(1000);
        var a = Features(100);
        var b = Features(100);
        cache.Add("a", a, out _).Dispose();
        var leasedB = cache.Add("b", b, out _);
        cache.TryRent("a")!.Dispose();
        // 1200 bytes: "b" is the least recently used but leased, so "a" goes.
        cache.Add("c", Features(100), out var evicted).Dispose();
        Assert.Equal(1, evicted);
        Assert.Null(cache.TryRent("a"));
        Assert.True(Freed(a));
        Assert.False(Freed(b));
        leasedB.Dispose();
        Assert.Equal(1L, cache.Evictions);
        Assert.NotNull(cache.TryRent("b"));
    }

    [Fact]
    public void Features_larger_than_the_budget_are_used_and_freed_with_their_lease_never_kept()
    {
        using var cache = new ImageFeatureCache(100);
        var big = Features(100);
        var lease = cache.Add("big", big, out _);
        Assert.False(Freed(big));
        Assert.Equal(0L, cache.Bytes);
        lease.Dispose();
        Assert.True(Freed(big));
        Assert.Null(cache.TryRent("big"));
    }
}
