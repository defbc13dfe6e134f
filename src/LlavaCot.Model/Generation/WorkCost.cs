namespace LlavaCot.Model.Generation;

/// <summary>
/// The model work one request caused: vision passes, tokens prefilled and decoded, and its lookups in the shared image
/// and prefix caches. A slice runs alone on the model thread, so what the model counted during it is this request's.
/// Written on the model thread, read from any thread.
/// </summary>
public sealed class WorkCost(MllamaModel model)
{
    private long _vision, _prefilled, _decoded, _imageHits, _imageMisses, _imageEvictions, _prefixHits, _prefixMisses, _prefixEvictions;

    public long VisionPasses => Interlocked.Read(ref _vision);
    public long PrefilledTokens => Interlocked.Read(ref _prefilled);
    public long DecodedTokens => Interlocked.Read(ref _decoded);
    public long ImageCacheHits => Interlocked.Read(ref _imageHits);
    public long ImageCacheMisses => Interlocked.Read(ref _imageMisses);
    public long ImageCacheEvictions => Interlocked.Read(ref _imageEvictions);
    public long PrefixCacheHits => Interlocked.Read(ref _prefixHits);
    public long PrefixCacheMisses => Interlocked.Read(ref _prefixMisses);
    public long PrefixCacheEvictions => Interlocked.Read(ref _prefixEvictions);

    /// <summary>Sliced work, each slice booked to this request as it runs.</summary>
    public IEnumerable<T> Booked<T>(IEnumerable<T> slices)
    {
        using var e = slices.GetEnumerator();
        while (true)
        {
            var before = Counted();
            bool more;
            try
            {
                more = e.MoveNext();
            }
            finally
            {
                Book(before);
            }
            if (!more)
                yield break;
            yield return e.Current;
        }
    }

    /// <summary>Work within one slice, booked to this request.</summary>
    public T Booked<T>(Func<T> work)
    {
        var before = Counted();
        try
        {
            return work();
        }
        finally
        {
            Book(before);
        }
    }

    /// <summary>Tokens a decode job fed for this request (its rows share steps with other requests').</summary>
    public void Decoded(long tokens) => Interlocked.Add(ref _decoded, tokens);

    internal void ImageHit() => Interlocked.Increment(ref _imageHits);

    internal void ImageMiss(int evicted)
    {
        Interlocked.Increment(ref _imageMisses);
        Interlocked.Add(ref _imageEvictions, evicted);
    }

    internal void Prefix(int reused, int evicted)
    {
        Interlocked.Increment(ref reused > 0 ? ref _prefixHits : ref _prefixMisses);
        Interlocked.Add(ref _prefixEvictions, evicted);
    }

    private (long Vision, long Prefilled, long Decoded) Counted() =>
        (model.Counters.VisionRuns, model.Counters.PrefilledTokens, model.Counters.DecodedTokens);

    private void Book((long Vision, long Prefilled, long Decoded) before)
    {
        var now = Counted();
        Interlocked.Add(ref _vision, now.Vision - before.Vision);
        Interlocked.Add(ref _prefilled, now.Prefilled - before.Prefilled);
        Interlocked.Add(ref _decoded, now.Decoded - before.Decoded);
    }
}
