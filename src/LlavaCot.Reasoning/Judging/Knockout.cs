namespace LlavaCot.Reasoning.Judging;

/// <summary>Picks positions in the candidate pool; the search's randomness, injectable for tests.</summary>
public interface IIndexSource
{
    /// <summary>An index in [0, <paramref name="count"/>).</summary>
    int Next(int count);
}

public sealed class SeededIndexSource(SeedStream stream) : IIndexSource
{
    public int Next(int count) => stream.NextInt(count);
}

/// <summary>
/// The reference's random knockout: pop two candidates at random positions, judge them, append the winner to the
/// END of the pool, repeat until one is left. Not a balanced bracket: a winner may play again before unplayed ones.
/// </summary>
public static class Knockout
{
    /// <param name="compare">Judges candidates (first, second) and returns true when the first wins.</param>
    /// <returns>The index of the surviving candidate.</returns>
    public static async Task<int> RunAsync(int count, IIndexSource indices, Func<int, int, Task<bool>> compare)
    {
        if (count < 1)
            throw new ArgumentOutOfRangeException(nameof(count));
        var pool = Enumerable.Range(0, count).ToList();
        while (pool.Count > 1)
        {
            var first = Pop(pool, indices);
            var second = Pop(pool, indices);
            pool.Add(await compare(first, second) ? first : second);
        }
        return pool[0];
    }

    private static int Pop(List<int> pool, IIndexSource indices)
    {
        var at = indices.Next(pool.Count);
        if (at < 0 || at >= pool.Count)
            throw new InvalidOperationException($"index source returned {at} for a pool of {pool.Count}");
        var value = pool[at];
        pool.RemoveAt(at);
        return value;
    }
}
