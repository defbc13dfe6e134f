using LlavaCot.Model.Layers;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Layers;

public class Fp32GemvTests
{
    [Theory]
    [InlineData(512, false, 1)]
    [InlineData(512, true, 2)]
    [InlineData(4096, false, 3)]
    [InlineData(96, true, 5)]
    public void Matches_a_float64_product_of_the_same_values_to_fp32_accumulation(int width, bool withBias, int rows)
    {
        Assert.True(Fp32Gemv.IsSupported, "this machine lacks AVX2 + FMA");
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        var weight = randn(1000, width, generator: generator).mul(0.05);
        var bias = withBias ? randn(1000, generator: generator) : null;
        var x = randn(rows, width, generator: generator);
        Assert.True(Fp32Gemv.Handles(x, weight));

        var actual = Fp32Gemv.Forward(x, weight, bias);
        Assert.Equal(ScalarType.Float32, actual.dtype);
        Assert.Equal([rows, 1000L], actual.shape);
        var exact = x.to(ScalarType.Float64).matmul(weight.to(ScalarType.Float64).t());
        if (bias is not null)
            exact += bias.to(ScalarType.Float64);
        // A sum of `width` fp32 products: each rounding at most 2^-24 of the running magnitude, bounded by Σ|x·w|.
        var scale = x.abs().to(ScalarType.Float64).matmul(weight.abs().to(ScalarType.Float64).t());
        var error = (actual.to(ScalarType.Float64) - exact).abs();
        var allowed = scale * (width * Math.Pow(2, -24)) + 1e-6;
        Assert.True(error.le(allowed).all().item<bool>(), $"max error {error.max().item<double>()}");
    }

    [Fact]
    public void Each_row_comes_out_bit_for_bit_the_same_whatever_rows_share_its_batch()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(11);
        var weight = randn(300, 1024, generator: generator).mul(0.05);
        var x = randn(Fp32Gemv.MaxRows, 1024, generator: generator);
        var all = Fp32Gemv.Forward(x, weight, null);
        foreach (var (start, count) in new[] { (0, 1), (7, 1), (3, 4), (10, 17), (Fp32Gemv.MaxRows - 2, 2) })
            Assert.True(Fp32Gemv.Forward(x.narrow(0, start, count), weight, null).equal(all.narrow(0, start, count)).all().item<bool>(), $"rows {start}+{count}");
    }

    [Fact]
    public void Other_shapes_and_dtypes_are_left_to_libtorch()
    {
        using var scope = NewDisposeScope();
        var weight = zeros(64, 512);
        Assert.True(Fp32Gemv.Takes(weight));
        Assert.False(Fp32Gemv.Handles(zeros(Fp32Gemv.MaxRows + 1, 512), weight));
        Assert.False(Fp32Gemv.Handles(zeros(1, 512, ScalarType.BFloat16), weight.to(ScalarType.BFloat16)));
        Assert.False(Fp32Gemv.Takes(zeros(64, 100)));
        Assert.False(Fp32Gemv.Takes(zeros(512, 64).t()));
        // Over 2 GiB of fp32 (fewer than 2^31 values): TorchSharp's byte view cannot span it. Never touched, so never paged in.
        Assert.False(Fp32Gemv.Takes(empty(1_100_000, 512)));
    }
}
