using LlavaCot.Model;
using LlavaCot.Model.Generation;

namespace LlavaCot.Runtime;

/// <summary>
/// A request's recently prefilled sequences, so a new prompt only prefills what differs from one of them: the next
/// stage extends the previous prefix, and judge prompts share their template and instructions. Caches built with
/// and without the image are never mixed (rows before the image token attend to the image, so their keys differ).
/// </summary>
internal sealed class PrefixCachePool(MllamaModel model, int capacity) : IDisposable
{
    private sealed class Entry(KvCache cache, bool withImage)
    {
        public KvCache Cache { get; } = cache;
        public bool WithImage { get; } = withImage;
        public List<int> Ids { get; set; } = [];
        public long LastUsed { get; set; }
    }

    private readonly List<Entry> _entries = [];
    private long _clock;

    /// <summary>
    /// A single-sequence cache holding the longest cached prefix of <paramref name="ids"/> that leaves at least one
    /// token to prefill (the last position's logits are needed), and how many tokens it holds.
    /// </summary>
    public (KvCache Cache, int Reused) Acquire(IReadOnlyList<int> ids, bool withImage)
    {
        Entry? best = null;
        var bestLength = -1;
        foreach (var e in _entries.Where(e => e.WithImage == withImage))
        {
            var common = CommonPrefix(e.Ids, ids);
            if (common > bestLength)
                (best, bestLength) = (e, common);
        }
        if (best is null || bestLength == 0)
        {
            if (_entries.Count >= capacity)
            {
                var oldest = _entries.MinBy(e => e.LastUsed)!;
                oldest.Cache.Dispose();
                _entries.Remove(oldest);
            }
            best = new Entry(model.NewCache(1, ids.Count + 64), withImage);
            _entries.Add(best);
            bestLength = 0;
        }
        var reused = Math.Min(bestLength, ids.Count - 1);
        best.Cache.Truncate(reused);
        best.Ids = best.Ids.Take(reused).ToList();
        best.LastUsed = ++_clock;
        return (best.Cache, reused);
    }

    /// <summary>Records that <paramref name="cache"/> now holds <paramref name="ids"/>.</summary>
    public void Commit(KvCache cache, IReadOnlyList<int> ids) => _entries.Single(e => e.Cache == cache).Ids = ids.ToList();

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
