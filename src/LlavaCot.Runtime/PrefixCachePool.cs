using LlavaCot.Model;
using LlavaCot.Model.Generation;

namespace LlavaCot.Runtime;

/// <summary>
/// A request's recently prefilled sequences, so a new prompt only prefills what no cached sequence shares with it.
/// A prompt that extends a cached sequence continues it in place (the next stage after the previous one); a prompt
/// that parts from one gets a new entry starting as a copy of the shared positions, so the sequence it parted from
/// keeps every token (judge prompts part from the stage chain after a few template tokens, and from each other
/// after their instructions). The stage chain is pinned: eviction takes the least recently used other entry.
/// Caches built with and without the image are never mixed (rows before the image token attend to the image, so
/// their keys differ).
/// </summary>
internal sealed class PrefixCachePool(MllamaModel model, int capacity) : IDisposable
{
    private const int Headroom = 64;

    private sealed class Entry(KvCache cache, bool withImage)
    {
        public KvCache Cache { get; } = cache;
        public bool WithImage { get; } = withImage;
        public List<int> Ids { get; set; } = [];
        public long LastUsed { get; set; }
        public bool Pinned { get; set; }
    }

    private readonly List<Entry> _entries = [];
    private long _clock;

    public int Count => _entries.Count;

    /// <summary>
    /// A single-sequence cache holding the longest cached prefix of <paramref name="ids"/> that leaves at least one
    /// token to prefill (the last position's logits are needed), and how many tokens it holds. <paramref name="pin"/>
    /// marks the sequence that later prompts extend (the stage chain); it is evicted last.
    /// </summary>
    public (KvCache Cache, int Reused) Acquire(IReadOnlyList<int> ids, bool withImage, bool pin = false)
    {
        Entry? best = null;
        var common = 0;
        foreach (var e in _entries.Where(e => e.WithImage == withImage))
        {
            var shared = CommonPrefix(e.Ids, ids);
            if (shared > common)
                (best, common) = (e, shared);
        }
        var reused = Math.Min(common, ids.Count - 1);
        Entry target;
        if (best is not null && common >= best.Ids.Count)
        {
            target = best;
            target.Cache.Truncate(reused);
        }
        else
        {
            var cache = best is null || reused == 0
                ? model.NewCache(1, ids.Count + Headroom)
                : best.Cache.Fork(1, ids.Count - reused + Headroom, reused);
            reused = best is null ? 0 : reused;
            target = new Entry(cache, withImage);
            _entries.Add(target);
            Evict(keep: target);
        }
        target.Ids = ids.Take(reused).ToList();
        target.LastUsed = ++_clock;
        if (pin)
        {
            foreach (var e in _entries)
                e.Pinned = e == target;
        }
        return (target.Cache, reused);
    }

    /// <summary>Records that <paramref name="cache"/> now holds <paramref name="ids"/>.</summary>
    public void Commit(KvCache cache, IReadOnlyList<int> ids) => _entries.Single(e => e.Cache == cache).Ids = ids.ToList();

    private void Evict(Entry keep)
    {
        while (_entries.Count > capacity)
        {
            var victim = _entries.Where(e => e != keep).OrderBy(e => e.Pinned).ThenBy(e => e.LastUsed).FirstOrDefault();
            if (victim is null)
                return;
            victim.Cache.Dispose();
            _entries.Remove(victim);
        }
    }

    private static int CommonPrefix(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        var n = Math.Min(a.Count, b.Count);
        var i = 0;
        while (i < n && a[i] == b[i])
            i++;
        return i;
    }

    public void Dispose()
    {
        foreach (var e in _entries)
            e.Cache.Dispose();
        _entries.Clear();
    }
}
