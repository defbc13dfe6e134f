using LlavaCot.Model.IO;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.IO;

public class CheckpointWriterTests
{
    private static List<PlannedTensor> Plan(params long[] sizes) =>
        sizes.Select((s, i) => new PlannedTensor($"t{i}", [s], ScalarType.Float32)).ToList();

    [Theory]
    [InlineData(new long[] { 10, 10, 10, 10 }, 2, new[] { 2, 2 })]
    [InlineData(new long[] { 1, 1, 1, 100 }, 3, new[] { 2, 1, 1 })]
    [InlineData(new long[] { 100, 1, 1, 1 }, 3, new[] { 1, 1, 2 })]
    [InlineData(new long[] { 5, 5 }, 4, new[] { 1, 1 })]
    public void Shards_are_contiguous_never_empty_and_close_near_their_share(long[] sizes, int shards, int[] expected)
    {
        var plan = Plan(sizes);
        var groups = CheckpointWriter.Split(plan, shards);
        Assert.Equal(expected, groups.Select(g => g.Count));
        Assert.Equal(plan.Select(p => p.Name), groups.SelectMany(g => g).Select(p => p.Name));
    }
}
