using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Tests;

public static class TensorAssert
{
    /// <summary>Same shape and identical values (NaN never equals).</summary>
    public static void Equal(Tensor expected, Tensor actual, string what)
    {
        Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"{what}: shape [{string.Join(", ", actual.shape)}] != expected [{string.Join(", ", expected.shape)}]");
        using var scope = NewDisposeScope();
        Assert.True(expected.to(actual.dtype).eq(actual).all().item<bool>(), $"{what}: values differ");
    }

    /// <summary>Same shape and max |expected - actual| within <paramref name="atol"/>; returns the max difference.</summary>
    public static double Close(Tensor expected, Tensor actual, double atol, string what)
    {
        Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"{what}: shape [{string.Join(", ", actual.shape)}] != expected [{string.Join(", ", expected.shape)}]");
        var diff = MaxAbsDiff(expected, actual);
        Assert.True(diff <= atol, $"{what}: max abs diff {diff:G4} > {atol:G4}");
        return diff;
    }

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        if (a.numel() == 0)
            return 0;
        return (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max().item<double>();
    }
}
