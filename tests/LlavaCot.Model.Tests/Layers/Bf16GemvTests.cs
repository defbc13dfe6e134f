using LlavaCot.Model.Layers;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Layers;

public class Bf16GemvTests
{
    [Theory]
    [InlineData(512, false, 1)]
    [InlineData(512, true, 1)]
    [InlineData(4096, false, 1)]
    [InlineData(512, true, 5)]
    public void Matches_an_fp32_product_of_the_same_bf16_values(int width, bool withBias, int rows)
    {
        Assert.True(Bf16Gemv.IsSupported, "this machine lacks AVX2 + FMA");
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        var weight = randn(1000, width, generator: generator).mul(0.05).to(ScalarType.BFloat16);
        var bias = withBias ? randn(1000, generator: generator).to(ScalarType.BFloat16) : null;
        var x = randn(rows, width, generator: generator).to(ScalarType.BFloat16);
        Assert.True(Bf16Gemv.Handles(x, weight));

        var actual = Bf16Gemv.Forward(x, weight, bias);
        var exact = x.to(ScalarType.Float64).matmul(weight.to(ScalarType.Float64).t());
        if (bias is not null)
            exact += bias.to(ScalarType.Float64);
        Assert.Equal(ScalarType.BFloat16, actual.dtype);
        // fp32 accumulation, then one rounding to bf16: within the unit roundoff 2^-8 of the magnitude (plus a little).
        var error = (actual.to(ScalarType.Float64) - exact).abs();
        var allowed = exact.abs() * Math.Pow(2, -8) + 1e-3;
        Assert.True(error.le(allowed).all().item<bool>(), $"max error {error.max().item<double>()}");
        // And it agrees with libtorch's own bf16 linear to bf16 precision.
        var torchResult = nn.functional.linear(x, weight, bias);
        TensorAssert.Close(torchResult, actual, 2 * Math.Pow(2, -8) * exact.abs().max().item<double>() + 1e-2, "vs libtorch");
    }

    [Fact]
    public void Fp32_rows_against_bf16_weights_come_out_in_fp32_and_each_row_the_same_in_any_batch()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(5);
        var weight = randn(700, 1024, generator: generator).mul(0.05).to(ScalarType.BFloat16);
        var bias = randn(700, generator: generator);
        var x = randn(9, 1024, generator: generator);
        Assert.True(Bf16Gemv.Handles(x, weight));
        var actual = Bf16Gemv.Forward(x, weight, bias);
        Assert.Equal(ScalarType.Float32, actual.dtype);
        // fp32 products of the exact bf16 values, accumulated in fp32: fp32 accuracy, not bf16's.
        var exact = x.to(ScalarType.Float64).matmul(weight.to(ScalarType.Float64).t()) + bias.to(ScalarType.Float64);
        TensorAssert.Close(exact, actual.to(ScalarType.Float64), 1e-4, "vs an fp64 product");
        foreach (var (start, count) in new[] { (0, 1), (4, 1), (2, 5) })
            Assert.True(Bf16Gemv.Forward(x.narrow(0, start, count), weight, bias).equal(actual.narrow(0, start, count)).all().item<bool>(), $"rows {start}+{count}");
    }

    [Fact]
    public void Each_row_comes_out_bit_for_bit_the_same_whatever_rows_share_its_batch()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(11);
        var weight = randn(300, 1024, generator: generator).mul(0.05).to(ScalarType.BFloat16);
        var x = randn(Bf16Gemv.MaxRows, 1024, generator: generator).to(ScalarType.BFloat16);
        var all = Bf16Gemv.Forward(x, weight, null);
        foreach (var (start, count) in new[] { (0, 1), (7, 1), (3, 4), (10, 17), (Bf16Gemv.MaxRows - 2, 2) })
            Assert.True(Bf16Gemv.Forward(x.narrow(0, start, count), weight, null).equal(all.narrow(0, start, count)).all().item<bool>(), $"rows {start}+{count}");
    }

    [Fact]
    public void Other_shapes_and_dtypes_are_left_to_libtorch()
    {
        using var scope = NewDisposeScope();
        var weight = zeros(64, 512, ScalarType.BFloat16);
        Assert.False(Bf16Gemv.Handles(zeros(Bf16Gemv.MaxRows + 1, 512, ScalarType.BFloat16), weight));
        Assert.False(Bf16Gemv.Handles(zeros(1, 512, ScalarType.Float32), weight.to(ScalarType.Float32)));
        Assert.False(Bf16Gemv.Handles(zeros(1, 96, ScalarType.BFloat16), zeros(64, 96, ScalarType.BFloat16)));
    }
}
