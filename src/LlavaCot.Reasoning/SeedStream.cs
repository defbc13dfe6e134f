namespace LlavaCot.Reasoning;

/// <summary>
/// SplitMix64: a tiny, well-mixed deterministic stream. One per request hands out the seeds of every generate call and
/// the knockout's indices, so the same request seed always reproduces the same search.
/// </summary>
public sealed class SeedStream(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, <paramref name="exclusiveMax"/>).</summary>
    public int NextInt(int exclusiveMax)
    {
        if (exclusiveMax <= 0)
            throw new ArgumentOutOfRangeException(nameof(exclusiveMax));
        return (int)(NextDouble() * exclusiveMax);
    }
}
