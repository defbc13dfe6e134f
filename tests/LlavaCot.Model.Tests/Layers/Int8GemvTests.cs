using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Layers;

public class Int8GemvTests
{
    [Fact]
    public void Quantized_weights_are_within_half_a_step_of_the_originals()
    {
        using var scope = NewDisposeScope();
        var w = randn(64, 256, generator: new Generator(2));
        w[3] = zeros(256);
        var (q, scale) = Int8Weights.Quantize(w);
        Assert.Equal(ScalarType.Int8, q.dtype);
        Assert.Equal([64L], scale.shape);
        Assert.Equal(127, q.abs().max().item<sbyte>());
        var back = Int8Weights.Dequantize(q, scale, ScalarType.Float32);
        Assert.True((back - w).abs().le(scale.unsqueeze(1) * 0.5 + 1e-6).all().item<bool>());
        Assert.Equal(0f, back[3].abs().max().item<float>());
    }

    /// <summary>The one-pass CPU dequantization gives libtorch's bits: the fp32 product, rounded to nearest even for bf16.</summary>
    [Theory]
    [InlineData(ScalarType.BFloat16, 300)]
    [InlineData(ScalarType.BFloat16, 37)]
    [InlineData(ScalarType.Float32, 300)]
    [InlineData(ScalarType.Float32, 5)]
    public void Dequantizing_matches_libtorchs_product_and_rounding_bit_for_bit(ScalarType dtype, int width)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(4);
        // Scales spanning magnitudes, so that products land on every kind of rounding case.
        var w = randn(200, width, generator: generator).mul(exp(randn(200, 1, generator: generator).mul(3)));
        var (q, scale) = Int8Weights.Quantize(w);
        var expected = q.to(ScalarType.Float32).mul(scale.unsqueeze(1)).to(dtype);
        var actual = Int8Weights.Dequantize(q, scale, dtype);
        Assert.Equal(dtype, actual.dtype);
        Assert.True(expected.equal(actual).all().item<bool>(), $"max difference {(expected.to(ScalarType.Float32) - actual.to(ScalarType.Float32)).abs().max().item<float>()}");
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1, true)]
    [InlineData(ScalarType.BFloat16, 4, false)]
    [InlineData(ScalarType.Float32, 9, true)]
    public void Matches_the_product_of_the_dequantized_weights(ScalarType dtype, int rows, bool withBias)
    {
        Assert.True(Int8Gemv.IsSupported, "this machine lacks AVX2 + FMA");
        using var scope = NewDisposeScope();
        var generator = new Generator(5);
        var (q, scale) = Int8Weights.Quantize(randn(300, 512, generator: generator).mul(0.05));
        var bias = withBias ? randn(300, generator: generator).to(dtype) : null;
        var x = randn(rows, 512, generator: generator).to(dtype);
        Assert.True(Int8Gemv.Handles(x, q));
        var actual = Int8Gemv.Forward(x, q, scale, bias);
        Assert.Equal(dtype, actual.dtype);
        var exact = x.to(ScalarType.Float64).matmul(Int8Weights.Dequantize(q, scale, ScalarType.Float64).t());
        if (bias is not null)
            exact += bias.to(ScalarType.Float64);
        // fp32 accumulation (and one rounding to the output dtype).
        var roundoff = dtype == ScalarType.BFloat16 ? Math.Pow(2, -8) : 1e-6;
        var error = (actual.to(ScalarType.Float64) - exact).abs();
        Assert.True(error.le(exact.abs() * roundoff + 1e-4).all().item<bool>(), $"max error {error.max().item<double>()}");
    }

    [Fact]
    public void Each_row_comes_out_bit_for_bit_the_same_whatever_rows_share_its_batch()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(8);
        var (q, scale) = Int8Weights.Quantize(randn(200, 1024, generator: generator));
        var x = randn(Int8Gemv.MaxRows, 1024, generator: generator);
        var all = Int8Gemv.Forward(x, q, scale, null);
        foreach (var (start, count) in new[] { (0, 1), (5, 1), (2, 3), (20, 31) })
            Assert.True(Int8Gemv.Forward(x.narrow(0, start, count), q, scale, null).equal(all.narrow(0, start, count)).all().item<bool>(), $"rows {start}+{count}");
        Assert.False(Int8Gemv.Handles(zeros(Int8Gemv.MaxRows + 1, 1024), q));
    }
}
