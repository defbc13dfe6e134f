using LlavaCot.Reasoning.Judging;

namespace LlavaCot.Reasoning.Tests;

public class KnockoutTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Pairs_follow_the_index_source_and_winners_rejoin_at_the_end(int n)
    {
        int[] picks = [1, 0, 2, 1, 0, 1, 3];
        var indices = new ScriptedIndices(picks);
        var judged = new List<(int, int)>();
        // The higher index always wins, so the expected pool evolution is easy to replay.
        var winner = await Knockout.RunAsync(n, indices, (a, b) =>
        {
            judged.Add((a, b));
            return Task.FromResult(a > b);
        });

        var pool = Enumerable.Range(0, n).ToList();
        var expected = new List<(int, int)>();
        var k = 0;
        while (pool.Count > 1)
        {
            var a = pool[picks[k % picks.Length] % pool.Count];
            pool.Remove(a);
            k++;
            var b = pool[picks[k % picks.Length] % pool.Count];
            pool.Remove(b);
            k++;
            expected.Add((a, b));
            pool.Add(Math.Max(a, b));
        }
        Assert.Equal(expected, judged);
        Assert.Equal(n - 1, judged.Count);
        Assert.Equal(pool[0], winner);
        Assert.Equal(n - 1, winner);
    }

    [Fact]
    public async Task Winner_goes_to_the_end_of_the_pool()
    {
        // Pool [0,1,2]: pop index 0 (0), then index 0 (1); 0 wins → pool [2,0]; pop index 1 (0) then 0 (2).
        var indices = new ScriptedIndices(0, 0, 1, 0);
        var judged = new List<(int, int)>();
        await Knockout.RunAsync(3, indices, (a, b) =>
        {
            judged.Add((a, b));
            return Task.FromResult(a == 0);
        });
        Assert.Equal([(0, 1), (0, 2)], judged);
        Assert.Equal([3, 2, 2, 1], indices.PoolSizes);
    }

    [Theory]
    [InlineData(4, new[] { 0, 0, 0, 0, 0, 0 }, 2)]
    [InlineData(4, new[] { 1, 2, 2, 0, 1, 0 }, 1)]
    [InlineData(5, new[] { 3, 1, 0, 2, 1, 0, 1, 0 }, 2)]
    [InlineData(8, new[] { 5, 2, 0, 4, 3, 1, 2, 0, 6, 1, 0, 3, 2, 0 }, 3)]
    public async Task Waves_judge_ready_matches_together_with_the_same_outcome(int n, int[] picks, int firstWaveSize)
    {
        // The judge: the candidate with the higher score wins; scores make the outcome depend on every match.
        int[] score = [3, 7, 1, 8, 5, 2, 6, 4];
        var sequential = new List<(int, int)>();
        var expected = await Knockout.RunAsync(n, new ScriptedIndices(picks), (a, b) =>
        {
            sequential.Add((a, b));
            return Task.FromResult(score[a] > score[b]);
        });
        var waves = new List<IReadOnlyList<(int, int)>>();
        var actual = await Knockout.RunAsync(n, new ScriptedIndices(picks), pairs =>
        {
            waves.Add(pairs);
            return Task.FromResult<IReadOnlyList<bool>>(pairs.Select(p => score[p.First] > score[p.Second]).ToList());
        });
        Assert.Equal(expected, actual);
        Assert.Equal(sequential.Order(), waves.SelectMany(w => w).Order());
        // Every match of a wave is independent of the others, and the first wave holds all matches of two fresh candidates.
        var firstWave = Knockout.Schedule(n, new ScriptedIndices(picks)).TakeWhile(m => m.First.IsCandidate && m.Second.IsCandidate).Count();
        Assert.True(waves[0].Count >= firstWave, $"first wave {waves[0].Count} < {firstWave}");
        Assert.Equal(firstWaveSize, waves[0].Count);
    }

    [Fact]
    public async Task A_single_candidate_needs_no_judge()
    {
        var winner = await Knockout.RunAsync(1, new ScriptedIndices(0), (_, _) => throw new InvalidOperationException());
        Assert.Equal(0, winner);
    }
}
