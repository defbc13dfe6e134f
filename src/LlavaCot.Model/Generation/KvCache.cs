using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>
/// Self-attention keys and values of every sequence in a batch, per layer: [B, KV heads, capacity, head_dim]
/// buffers written in place, so a decode step appends without copying the past. All sequences in one cache
/// decode in lockstep. <see cref="Fork"/> turns one prefix into N independent copies; <see cref="Stack"/> puts
/// prompts of different lengths into one batch, right-aligned: a row's first <see cref="Padding"/> positions are
/// empty and masked. <see cref="Keep"/> drops finished sequences.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor?[] _keys;
    private readonly Tensor?[] _values;
    private long[] _padding;

    /// <summary>Positions held per row, padding included.</summary>
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
        _padding = new long[batch];
    }

    /// <summary>Memory the buffers hold (their whole capacity).</summary>
    public long Bytes => _keys.Concat(_values).Sum(t => t is null ? 0 : t.numel() * t.ElementSize);

    /// <summary>Empty positions at the start of each row (all 0 unless rows of different lengths were stacked).</summary>
    public IReadOnlyList<long> Padding => _padding;

    public bool IsPadded => _padding.Any(p => p > 0);

    /// <summary>The position (RoPE index) of each row's next token: its own length without padding.</summary>
    public long[] NextPositions() => _padding.Select(p => Length - p).ToArray();

    /// <summary>
    /// Additive mask over the keys of a decode step, [B, 1, 1, Length + 1]: a row's padding positions are blocked.
    /// </summary>
    public Tensor PaddingMask(ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        var keys = arange(Length + 1, ScalarType.Int64, device).view(1, -1);
        var padded = keys.lt(tensor(_padding, ScalarType.Int64, device).view(-1, 1));
        var mask = where(padded, full(1, Layers.Scalars.Of(Layers.Masks.MinValue(dtype)), dtype, device), zeros(1, dtype: dtype, device: device));
        return mask.view(Batch, 1, 1, Length + 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One batch from single-sequence caches of different lengths, right-aligned so that they decode in lockstep,
    /// with room for <paramref name="reserve"/> more tokens. The sources are left as they are.
    /// </summary>
    public static KvCache Stack(IReadOnlyList<KvCache> rows, long reserve)
    {
        if (rows.Count == 0 || rows.Any(r => r.Batch != 1))
            throw new ArgumentException("stack needs single-sequence caches");
        var length = rows.Max(r => r.Length);
        var layers = rows[0]._keys.Length;
        var stacked = new KvCache(layers, rows.Count, length + Math.Max(1, reserve))
        {
            Length = length,
            _padding = rows.Select(r => length - r.Length).ToArray(),
        };
        for (var layer = 0; layer < layers; layer++)
        {
            stacked._keys[layer] = StackLayer(rows.Select(r => r._keys[layer]).ToList(), stacked);
            stacked._values[layer] = StackLayer(rows.Select(r => r._values[layer]).ToList(), stacked);
        }
        return stacked;
    }

    private static Tensor? StackLayer(IReadOnlyList<Tensor?> sources, KvCache target)
    {
        if (sources.All(s => s is null))
            return null;
        var like = sources.First(s => s is not null)!;
        var buffer = zeros([target.Batch, like.shape[1], target.Capacity, like.shape[3]], like.dtype, like.device).DetachFromDisposeScope();
        for (var row = 0; row < sources.Count; row++)
        {
            var filled = target.Length - target._padding[row];
            if (sources[row] is not { } source || filled == 0)
                continue;
            using var slot = buffer.narrow(0, row, 1).narrow(2, target._padding[row], filled);
            using var data = source.narrow(2, 0, filled);
            slot.copy_(data);
        }
        return buffer;
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
        if (IsPadded)
            throw new InvalidOperationException("a stacked cache of different lengths cannot be truncated");
        Length = length;
    }

    /// <summary>
    /// A new cache holding <paramref name="copies"/> copies of this one-sequence cache (of its first
    /// <paramref name="length"/> positions when given), with room for <paramref name="reserve"/> more tokens.
    /// </summary>
    public KvCache Fork(int copies, long reserve = 256, long? length = null)
    {
        if (Batch != 1)
            throw new InvalidOperationException($"only a single-sequence cache can be forked (this one holds {Batch})");
        var kept = length ?? Length;
        if (kept < 0 || kept > Length)
            throw new ArgumentOutOfRangeException(nameof(length), $"must lie in 0..{Length}");
        var fork = new KvCache(_keys.Length, copies, kept + Math.Max(1, reserve))
        {
            Length = kept,
            _padding = Enumerable.Repeat(_padding[0], copies).ToArray(),
        };
        for (var i = 0; i < _keys.Length; i++)
        {
            fork._keys[i] = CopyPrefix(_keys[i], copies, fork.Capacity, kept);
            fork._values[i] = CopyPrefix(_values[i], copies, fork.Capacity, kept);
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
        _padding = rows.Select(r => _padding[r]).ToArray();
    }

    private static Tensor? Select(Tensor? buffer, Tensor index)
    {
        if (buffer is null)
            return null;
        var kept = buffer.index_select(0, index.to(buffer.device)).DetachFromDisposeScope();
        buffer.Dispose();
        return kept;
    }

    /// <summary>A new buffer of <paramref name="copies"/> rows and <paramref name="capacity"/> positions holding the first <paramref name="length"/> positions of <paramref name="source"/> (one row repeated, or the same rows).</summary>
    private static Tensor? CopyPrefix(Tensor? source, long copies, long capacity, long length)
    {
        if (source is null)
            return null;
        var target = empty([copies, source.shape[1], capacity, source.shape[3]], source.dtype, source.device).DetachFromDisposeScope();
        using var prefix = target.narrow(2, 0, length);
        using var sourcePrefix = source.narrow(2, 0, length);
        using var repeated = sourcePrefix.expand(copies, -1, -1, -1);
        prefix.copy_(repeated);
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
        var grown = CopyPrefix(buffer, Batch, capacity, Length);
        buffer?.Dispose();
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
