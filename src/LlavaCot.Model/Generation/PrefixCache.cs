
namespace LlavaCot.Model.Generation;

/// <summary>
/// Self-attention keys and values of recent prompts, shared by every request on the model, so a prompt prefills only
/// what no cached sequence shares with it. A prompt that extends a cached sequence continues it in place (the next
/// stage after the previous one); a prompt that parts from one gets a new entry starting as a copy of the shared
/// positions, so the sequence it parted from keeps every token (judge prompts part from the stage chain after a few
/// template tokens, and from each other after their instructions; text-only pre-checks share their system prompt and
/// instructions across requests; a retry shares its whole prompt). Entries are keyed by the image their rows attend
/// to (its content key; empty for text-only prompts): rows before the image token attend to it too, so keys differ.
/// An entry is used by one prompt at a time (the prompt lane runs one prompt's chunks after another), from its
/// acquisition through its chunks to its commit, then copied or forked in the same slice;
/// past the byte budget the least recently used entries go. A running search's stage chain is pinned and stays (it
/// counts toward the budget; there is one per running search) until the search ends. A hit is a prompt that reused
/// cached positions; a miss, one that reused none.
/// </summary>
public sealed class PrefixCache(MllamaModel model, long budgetBytes) : CacheCounters(budgetBytes), IDisposable
{
    private const int Headroom = 64;

    private sealed class Entry(KvCache cache, string image)
    {
        public KvCache Cache { get; } = cache;
        public string Image { get; } = image;
        public List<int> Ids { get; set; } = [];
        public long LastUsed { get; set; }
        public HashSet<object> Pins { get; } = [];

        /// <summary>Being prefilled (between <see cref="Acquire"/> and <see cref="Commit"/> or <see cref="Release"/>): never freed.</summary>
        public bool InUse { get; set; }
    }

    private readonly List<Entry> _entries = [];
    private long _clock;

    public int Count => _entries.Count;

    /// <summary>
    /// A single-sequence cache holding the longest cached prefix of <paramref name="ids"/> (with the same image) that
    /// leaves at least one token to prefill (the last position's logits are needed; with <paramref name="logits"/>
    /// false it may hold them all), and how many tokens it holds. Prefill the rest into it, then <see cref="Commit"/>.
    /// <paramref name="pinFor"/>: the search whose stage chain this is (later prompts of that search extend it); it is
    /// not evicted until unpinned.
    /// </summary>
    public (KvCache Cache, int Reused, int Evicted) Acquire(string image, IReadOnlyList<int> ids, object? pinFor = null, bool logits = true)
    {
        Entry? best = null;
        var common = 0;
        foreach (var e in _entries.Where(e => e.Image == image))
        {
            var shared = CommonPrefix(e.Ids, ids);
            if (shared > common)
                (best, common) = (e, shared);
        }
        var reused = logits ? Math.Min(common, ids.Count - 1) : common;
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
            target = new Entry(cache, image);
            _entries.Add(target);
        }
        Looked(hit: reused > 0);
        target.Ids = ids.Take(reused).ToList();
        target.InUse = true;
        target.LastUsed = ++_clock;
        if (pinFor is not null)
        {
            foreach (var e in _entries)
                e.Pins.Remove(pinFor);
            target.Pins.Add(pinFor);
        }
        return (target.Cache, reused, Evict(keep: target));
    }

    /// <summary>Records that <paramref name="cache"/> now holds <paramref name="ids"/>; returns the entries freed for room.</summary>
    public int Commit(KvCache cache, IReadOnlyList<int> ids)
    {
        var entry = _entries.Single(e => e.Cache == cache);
        entry.Ids = ids.ToList();
        entry.InUse = false;
        return Evict(keep: entry);
    }

    /// <summary>
    /// A prefill into <paramref name="cache"/> stopped before its <see cref="Commit"/> (cancelled): the entry keeps only
    /// the positions it held when acquired (the next use truncates the rest) and may be freed again.
    /// </summary>
    public void Release(KvCache cache)
    {
        if (_entries.FirstOrDefault(e => e.Cache == cache) is { } entry)
            entry.InUse = false;
    }

    /// <summary>The search is over: its stage chain is evicted like any other entry (now, if the cache is over budget).</summary>
    public void Unpin(object owner)
    {
        foreach (var e in _entries)
            e.Pins.Remove(owner);
        Evict(keep: null);
    }

    /// <summary>Frees the least recently used unpinned entries until the rest fit; never <paramref name="keep"/>, in use now.</summary>
    private int Evict(Entry? keep)
    {
        var evicted = 0;
        while (Measure() > BudgetBytes)
        {
            var victim = _entries.Where(e => e != keep && e.Pins.Count == 0 && !e.InUse).MinBy(e => e.LastUsed);
            if (victim is null)
                break;
            victim.Cache.Dispose();
            _entries.Remove(victim);
            evicted++;
        }
        Evicted(evicted);
        return evicted;
    }

    private long Measure()
    {
        var bytes = _entries.Sum(e => e.Cache.Bytes);
        SetBytes(bytes);
        return bytes;
    }

    /// <summary>How many leading ids two sequences share.</summary>
    public static int CommonPrefix(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        var n = Math.Min(a.Count, b.Count);
        var i = 0;
        while (i < n && a[i] == b[i])
            i++;
        return i;
    }

    /// <summary>Frees every entry no running search has pinned and no prefill is filling.</summary>
    public void Clear()
    {
        foreach (var e in _entries.Where(e => e.Pins.Count == 0 && !e.InUse).ToList())
        {
            e.Cache.Dispose();
            _entries.Remove(e);
        }
        Measure();
    }

    /// <summary>Frees every entry (the model is going).</summary>
    public void Dispose()
    {
        foreach (var e in _entries)
            e.Cache.Dispose();
        _entries.Clear();
        Measure();
    }
}
