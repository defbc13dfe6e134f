using System.Security.Cryptography;
using LlavaCot.Model.Inputs;

namespace LlavaCot.Model.Generation;

/// <summary>What one image became on the model: every cross layer's keys and values, and the tiles of each image.</summary>
public sealed record ImageFeatures(CrossAttentionCache Kv, IReadOnlyList<int> NumTiles);

/// <summary>
/// Image features shared across requests, keyed by a hash of the decoded pixels: a second question about the same
/// picture (or a retry) skips the vision tower, which for the 11B on a CPU is minutes per image. Entries in use are
/// never freed; unused ones are evicted least recently used once the cache holds more than its budget. An image
/// larger than the whole budget is used and freed, never kept. Runs on the model worker only (no locks); the
/// statistics are read from any thread.
/// </summary>
public sealed class ImageFeatureCache(long budgetBytes) : CacheCounters(budgetBytes), IDisposable
{
    private sealed class Entry(string key, ImageFeatures features, long bytes)
    {
        public string Key { get; } = key;
        public ImageFeatures Features { get; } = features;
        public long Bytes { get; } = bytes;
        public int Users { get; set; }
        public long LastUsed { get; set; }
    }

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _clock;

    /// <summary>The content key of a decoded image: its size and pixels, so the same picture in another file format hits.</summary>
    public static string Key(RgbImage image)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(BitConverter.GetBytes(image.Width));
        sha.AppendData(BitConverter.GetBytes(image.Height));
        sha.AppendData(image.Pixels);
        return Convert.ToHexString(sha.GetHashAndReset());
    }

    /// <summary>
    /// A lease on the features of the image with <paramref name="key"/> if the cache holds them (a hit), else null (a
    /// miss: encode the image and <see cref="Add"/> it). The lease keeps them alive until it is disposed (on the worker).
    /// </summary>
    public Lease? TryRent(string key)
    {
        if (!_entries.TryGetValue(key, out var entry))
            return null;
        Looked(hit: true);
        return Leased(entry, out _);
    }

    /// <summary>
    /// Keeps features just encoded (a miss) and leases them; <paramref name="evicted"/>: entries this call freed. Features
    /// larger than the whole budget are leased and freed with their lease, never kept.
    /// </summary>
    public Lease Add(string key, ImageFeatures features, out int evicted)
    {
        Looked(hit: false);
        var entry = new Entry(key, features, SizeOf(features.Kv));
        if (entry.Bytes <= BudgetBytes)
        {
            if (_entries.Remove(key, out var old))
            {
                AddBytes(-old.Bytes);
                if (old.Users == 0)
                    old.Features.Kv.Dispose();
            }
            _entries[key] = entry;
            AddBytes(entry.Bytes);
        }
        return Leased(entry, out evicted);
    }

    private Lease Leased(Entry entry, out int evicted)
    {
        entry.Users++;
        entry.LastUsed = ++_clock;
        evicted = Trim();
        return new Lease(entry.Features, () => Release(entry));
    }

    private void Release(Entry entry)
    {
        entry.Users--;
        if (!IsKept(entry) && entry.Users == 0)
            entry.Features.Kv.Dispose();
        else
            Trim();
    }

    /// <summary>Whether the cache holds the entry (else its last user frees it).</summary>
    private bool IsKept(Entry entry) => _entries.GetValueOrDefault(entry.Key) == entry;

    /// <summary>Frees unused entries, least recently used first, until the cache is within its budget.</summary>
    private int Trim()
    {
        var freed = 0;
        while (Bytes > BudgetBytes && _entries.Values.Where(e => e.Users == 0).MinBy(e => e.LastUsed) is { } victim)
        {
            Remove(victim);
            Evicted(1);
            freed++;
        }
        return freed;
    }

    /// <summary>Takes the entry out of the cache; its features are freed now, or by its last user when it has any.</summary>
    private void Remove(Entry entry)
    {
        _entries.Remove(entry.Key);
        AddBytes(-entry.Bytes);
        if (entry.Users == 0)
            entry.Features.Kv.Dispose();
    }

    private static long SizeOf(CrossAttentionCache kv) => kv.Tensors.Sum(t => t.NumberOfElements * t.ElementSize);

    /// <summary>Empties the cache: unused entries are freed now, entries still leased by their last lease.</summary>
    public void Clear()
    {
        foreach (var entry in _entries.Values.ToList())
            Remove(entry);
    }

    public void Dispose() => Clear();

    /// <summary>One user's hold on an image's features; disposing it (on the worker) lets them go.</summary>
    public sealed class Lease(ImageFeatures features, Action release) : IDisposable
    {
        private Action? _release = release;

        public ImageFeatures Features => features;

        public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
    }
}
