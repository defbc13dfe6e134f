using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>
/// Self-attention keys and values of every sequence in a batch, per layer: [B, KV heads, capacity, head_dim]
/// buffers written in place, so a decode step appends without copying the past. All sequences in one cache
/// share a length (they come from one prefix and decode in lockstep). <see cref="Fork"/> turns a prefix into
/// N independent copies; <see cref="Keep"/> drops finished sequences.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor?[] _keys;
    private readonly Tensor?[] _values;

    public long Length { get; private set; }
    public long Batch { get; private set; }

    /// <summary>Tokens the buffers hold before they must grow.</summary>
    public long Capacity { get; private set; }

    public KvCache(int layers, long batch = 1, long capacity = 256)
    {
        _keys = new Tensor?[layers];
        _values = new Tensor?[layers];
        Batch = batch;
        Capacity = Math.Max(1, capacity);
    }

    /// <summary>
    /// Writes the n new positions of <paramref name="layer"/> after the cached ones and returns views of the
    /// whole sequence so far, [B, KV, Length + n, d]. Call <see cref="Advance"/> once all layers are done.
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        if (keys.shape[0] != Batch)
            throw new ArgumentException($"cache holds {Batch} sequences, got {keys.shape[0]}");
        var n = keys.shape[2];
        var total = Length + n;
        if (total > Capacity)
            Grow(Math.Max(total, Capacity * 2));
        _keys[layer] ??= NewBuffer(keys);
        _values[layer] ??= NewBuffer(values);
        var (k, v) = (_keys[layer]!, _values[layer]!);
        using (var slot = k.narrow(2, Length, n))
            slot.copy_(keys);
        using (var slot = v.narrow(2, Length, n))
            slot.copy_(values);
        return (k.narrow(2, 0, total), v.narrow(2, 0, total));
    }

    public void Advance(long n) => Length += n;

    /// <summary>Forgets every position from <paramref name="length"/> on (the buffers are reused in place).</summary>
    public void Truncate(long length)
    {
        if (length < 0 || length > Length)
            throw new ArgumentOutOfRangeException(nameof(length), $"must lie in 0..{Length}");
        Length = length;
    }

    /// <summary>A new cache holding <paramref name="copies"/> copies of this one-sequence cache, with room for <paramref name="reserve"/> more tokens.</summary>
    public KvCache Fork(int copies, long reserve = 256)
    {
        if (Batch != 1)
            throw new InvalidOperationException($"only a single-sequence cache can be forked (this one holds {Batch})");
        var fork = new KvCache(_keys.Length, copies, Length + Math.Max(1, reserve)) { Length = Length };
        for (var i = 0; i < _keys.Length; i++)
        {
            fork._keys[i] = CopyPrefix(_keys[i], copies, fork.Capacity);
            fork._values[i] = CopyPrefix(_values[i], copies, fork.Capacity);
        }
        return fork;
    }

    /// <summary>Keeps only the given sequences (by index), in that order.</summary>
    public void Keep(IReadOnlyList<long> rows)
    {
        if (rows.Any(r => r < 0 || r >= Batch))
            throw new ArgumentOutOfRangeException(nameof(rows), $"rows must lie in 0..{Batch - 1}");
        using var index = tensor(rows.ToArray(), ScalarType.Int64);
        for (var i = 0; i < _keys.Length; i++)
        {
            _keys[i] = Select(_keys[i], index);
            _values[i] = Select(_values[i], index);
        }
        Batch = rows.Count;
    }

    private static Tensor? Select(Tensor? buffer, Tensor index)
    {
        if (buffer is null)
            return null;
        var kept = buffer.index_select(0, index.to(buffer.device)).DetachFromDisposeScope();
        buffer.Dispose();
        return kept;
    }

    private Tensor? CopyPrefix(Tensor? source, int copies, long capacity)
    {
        if (source is null)
            return null;
        var target = empty([copies, source.shape[1], capacity, source.shape[3]], source.dtype, source.device).DetachFromDisposeScope();
        using var prefix = target.narrow(2, 0, Length);
        using var sourcePrefix = source.narrow(2, 0, Length);
        prefix.copy_(sourcePrefix.expand(copies, -1, -1, -1));
        return target;
    }

    private Tensor NewBuffer(Tensor like) =>
        empty([Batch, like.shape[1], Capacity, like.shape[3]], like.dtype, like.device).DetachFromDisposeScope();

    private void Grow(long capacity)
    {
        for (var i = 0; i < _keys.Length; i++)
        {
            _keys[i] = Regrow(_keys[i], capacity);
            _values[i] = Regrow(_values[i], capacity);
        }
        Capacity = capacity;
    }

    private Tensor? Regrow(Tensor? buffer, long capacity)
    {
        if (buffer is null)
            return null;
        var grown = empty([buffer.shape[0], buffer.shape[1], capacity, buffer.shape[3]], buffer.dtype, buffer.device).DetachFromDisposeScope();
        using (var target = grown.narrow(2, 0, Length))
        using (var source = buffer.narrow(2, 0, Length))
            target.copy_(source);
        buffer.Dispose();
        return grown;
    }

    public void Dispose()
    {
        foreach (var t in _keys.Concat(_values))
            t?.Dispose();
        Array.Clear(_keys);
        Array.Clear(_values);
    }
}
