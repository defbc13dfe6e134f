namespace LlavaCot.Model.Generation;

/// <summary>What a cache shared across requests reports (read from any thread): its size against its budget, hits, misses and evictions.</summary>
public abstract class CacheCounters(long budgetBytes)
{
    private long _bytes, _hits, _misses, _evictions;

    public long BudgetBytes => budgetBytes;
    public long Bytes => Interlocked.Read(ref _bytes);
    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);
    public long Evictions => Interlocked.Read(ref _evictions);

    protected void Looked(bool hit) => Interlocked.Increment(ref hit ? ref _hits : ref _misses);

    protected void Evicted(int entries) => Interlocked.Add(ref _evictions, entries);

    protected void AddBytes(long delta) => Interlocked.Add(ref _bytes, delta);

    protected void SetBytes(long bytes) => Interlocked.Exchange(ref _bytes, bytes);
}
