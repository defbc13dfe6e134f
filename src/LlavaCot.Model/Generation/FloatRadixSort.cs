using System.Buffers;

namespace LlavaCot.Model.Generation;

/// <summary>
/// Sorts float values ascending by their bits (three passes of a least-significant-digit radix sort): several times
/// faster than a comparison sort on a 128k vocabulary. Only the values come out, no indices. NaNs are not ordered as
/// libtorch orders them: callers leave NaN-holding rows to libtorch.
/// </summary>
public static class FloatRadixSort
{
    private const int Bits = 11;
    private const int Buckets = 1 << Bits;

    public static void Ascending(ReadOnlySpan<float> source, Span<float> destination)
    {
        if (destination.Length != source.Length)
            throw new ArgumentException($"{source.Length} values into {destination.Length} places");
        // Pooled: a vocabulary's keys are large-object-heap arrays, and this runs for every row of every step.
        var pool = ArrayPool<uint>.Shared;
        var (keys, other) = (pool.Rent(source.Length), pool.Rent(source.Length));
        try
        {
            Sort(source, destination, keys, other);
        }
        finally
        {
            pool.Return(keys);
            pool.Return(other);
        }
    }

    private static void Sort(ReadOnlySpan<float> source, Span<float> destination, uint[] keys, uint[] other)
    {
        var n = source.Length;
        for (var i = 0; i < n; i++)
            keys[i] = Key(BitConverter.SingleToUInt32Bits(source[i]));
        var counts = new int[Buckets];
        for (var shift = 0; shift < 32; shift += Bits)
        {
            Array.Clear(counts);
            for (var i = 0; i < n; i++)
                counts[(keys[i] >> shift) & (Buckets - 1)]++;
            var sum = 0;
            for (var b = 0; b < Buckets; b++)
                (counts[b], sum) = (sum, sum + counts[b]);
            for (var i = 0; i < n; i++)
                other[counts[(keys[i] >> shift) & (Buckets - 1)]++] = keys[i];
            (keys, other) = (other, keys);
        }
        for (var i = 0; i < n; i++)
            destination[i] = BitConverter.UInt32BitsToSingle(Unkey(keys[i]));
    }

    // Negative floats order in reverse of their bits, and below every positive one.
    private static uint Key(uint bits) => (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;

    private static uint Unkey(uint key) => (key & 0x8000_0000u) != 0 ? key & 0x7FFF_FFFFu : ~key;
}
