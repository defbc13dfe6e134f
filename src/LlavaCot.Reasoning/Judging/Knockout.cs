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
/// <para>
/// Which positions are popped depends only on the pool's size, so the whole pairing schedule is drawn first (with
/// "winner of match k" as a placeholder); matches whose two sides are known are then judged together, in waves.
/// The pairs, their order and the outcome are those of the one-at-a-time procedure.
/// </para>
/// </summary>
public static class Knockout
{
    /// <summary>A side of a match: candidate index ≥ 0, or -(k + 1) for the winner of match k.</summary>
    public readonly record struct Side(int Value)
    {
        public static Side Candidate(int i) => new(i);
        public static Side WinnerOf(int match) => new(-(match + 1));
        public bool IsCandidate => Value >= 0;
        public int Match => -Value - 1;
    }

    public static IReadOnlyList<(Side First, Side Second)> Schedule(int count, IIndexSource indices)
    {
        if (count < 1)
            throw new ArgumentOutOfRangeException(nameof(count));
        var pool = Enumerable.Range(0, count).Select(Side.Candidate).ToList();
        var matches = new List<(Side, Side)>();
        while (pool.Count > 1)
        {
            var first = Pop(pool, indices);
            var second = Pop(pool, indices);
            matches.Add((first, second));
            pool.Add(Side.WinnerOf(matches.Count - 1));
        }
        return matches;
    }

    /// <param name="judge">Judges a wave of (first, second) candidate pairs and returns, per pair, whether the first wins.</param>
    /// <returns>The index of the surviving candidate.</returns>
    public static async Task<int> RunAsync(int count, IIndexSource indices, Func<IReadOnlyList<(int First, int Second)>, Task<IReadOnlyList<bool>>> judge)
    {
        var matches = Schedule(count, indices);
        var winners = new int?[matches.Count];
        int? Resolve(Side side) => side.IsCandidate ? side.Value : winners[side.Match];
        while (winners.Any(w => w is null))
        {
            var wave = Enumerable.Range(0, matches.Count)
                .Where(k => winners[k] is null && Resolve(matches[k].First) is not null && Resolve(matches[k].Second) is not null)
                .ToList();
            var pairs = wave.Select(k => (Resolve(matches[k].First)!.Value, Resolve(matches[k].Second)!.Value)).ToList();
            var firstWins = await judge(pairs);
            for (var i = 0; i < wave.Count; i++)
                winners[wave[i]] = firstWins[i] ? pairs[i].Item1 : pairs[i].Item2;
        }
        return matches.Count == 0 ? 0 : winners[^1]!.Value;
    }

    /// <summary>One match at a time (the reference's order), for callers with a single-pair judge.</summary>
    public static Task<int> RunAsync(int count, IIndexSource indices, Func<int, int, Task<bool>> compare) =>
        RunAsync(count, indices, async pairs =>
        {
            var results = new List<bool>();
            foreach (var (first, second) in pairs)
                results.Add(await compare(first, second));
            return results;
        });

    private static Side Pop(List<Side> pool, IIndexSource indices)
    {
        var at = indices.Next(pool.Count);
        if (at < 0 || at >= pool.Count)
            throw new InvalidOperationException($"index source returned {at} for a pool of {pool.Count}");
        var value = pool[at];
        pool.RemoveAt(at);
        return value;
    }
}
