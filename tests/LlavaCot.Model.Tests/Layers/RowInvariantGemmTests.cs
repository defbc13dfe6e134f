using LlavaCot.Model.Layers;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Layers;

public class RowInvariantGemmTests
{
    public static TheoryData<ScalarType, int, int, bool> Shapes => new()
    {
        { ScalarType.Float32, 96, 64, false },
        { ScalarType.Float32, 200, 128, true },
        { ScalarType.BFloat16, 96, 64, true },
        { ScalarType.BFloat16, 300, 256, false },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_row_gets_the_same_bits_whatever_the_row_count_and_its_position(ScalarType dtype, int outF, int inF, bool withBias)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(7);
        var w = randn(outF, inF, ScalarType.Float32, generator: generator).mul_(0.1).to(dtype);
        var b = withBias ? randn(outF, ScalarType.Float32, generator: generator).to(dtype) : null;
        var multiple = RowInvariantGemm.RowMultiple(w, b);
        Assert.True(multiple > 0, $"libtorch's {dtype} GEMM gave no row count up to {RowInvariantGemm.LargestMultiple} its rows are invariant in, for [{outF}, {inF}]");
        Assert.Equal(multiple, RowInvariantGemm.RowMultiple(w, b));
        Assert.Contains(RowInvariantGemm.Measured, l => l.StartsWith($"{dtype.ToString().ToLowerInvariant()} [{outF}, {inF}]{(withBias ? " with bias" : "")}: multiple {multiple}"));

        // Other inputs than the probe's, every row count 1..64, each block at the start and at the end of the 64 rows.
        var x = randn(RowInvariantGemm.MaxRows, inF, ScalarType.Float32, generator: generator).to(dtype);
        var all = RowInvariantGemm.Forward(x, w, b, multiple);
        Assert.Equal([RowInvariantGemm.MaxRows, outF], all.shape);
        TensorAssert.Close(nn.functional.linear(x, w, b).to(ScalarType.Float32), all.to(ScalarType.Float32), dtype == ScalarType.Float32 ? 1e-5 : 2e-2, "against linear");
        for (var rows = 1; rows <= RowInvariantGemm.MaxRows; rows++)
        {
            foreach (var start in new[] { 0, RowInvariantGemm.MaxRows - rows })
            {
                var part = RowInvariantGemm.Forward(x.narrow(0, start, rows), w, b, multiple);
                Assert.Equal([rows, outF], part.shape);
                Assert.True(part.equal(all.narrow(0, start, rows)).all().item<bool>(), $"{rows} rows from {start}: not the bits they get among 64");
            }
        }
    }

    [Fact]
    public void Row_counts_outside_one_to_sixty_four_are_refused()
    {
        using var scope = NewDisposeScope();
        var w = ones(8, 4);
        Assert.Throws<ArgumentException>(() => RowInvariantGemm.Forward(ones(0, 4), w, null, 1));
        Assert.Throws<ArgumentException>(() => RowInvariantGemm.Forward(ones(RowInvariantGemm.MaxRows + 1, 4), w, null, 1));
    }
}
