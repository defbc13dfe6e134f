using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Layers;

public class Int4GemvTests
{
    /// <summary>(q − 8) · d in float64 from the stored bytes, unpacked here by torch ops (not by the code under test).</summary>
    private static Tensor Reference(Tensor packed, Tensor scale, long inFeatures)
    {
        var rows = packed.shape[0];
        var groups = scale.shape[1];
        var bytes = packed.to(ScalarType.Int64).view(rows, groups, Int4Weights.GroupBytes);
        var codes = cat([bytes.bitwise_and(15), bytes.bitwise_right_shift(4)], 2);
        var w = codes.to(ScalarType.Float64).sub(8).mul(scale.to(ScalarType.Float64).unsqueeze(2));
        return w.view(rows, groups * Int4Weights.Group).narrow(1, 0, inFeatures);
    }

    [Theory]
    [InlineData(256)]
    [InlineData(200)]
    [InlineData(5)]
    public void Packing_and_unpacking_keeps_weights_within_half_a_step_partial_groups_included(int width)
    {
        using var scope = NewDisposeScope();
        var w = randn(48, width, generator: new Generator(2)).mul(0.05);
        w[3] = zeros(width);
        var (packed, scale) = Int4Weights.Quantize(w);
        var groups = (width + 31) / 32;
        Assert.Equal([48L, groups * 16L], packed.shape);
        Assert.Equal([48L, (long)groups], scale.shape);
        Assert.Equal(ScalarType.Byte, packed.dtype);
        Assert.Equal(ScalarType.Float16, scale.dtype);
        var back = Reference(packed, scale, width);
        var step = scale.to(ScalarType.Float64).abs().repeat_interleave(32L, 1).narrow(1, 0, width);
        var error = (back - w.to(ScalarType.Float64)).abs();
        // Half a step, plus what rounding the scale to fp16 moves a code (at most 8 steps) by; the codes reach 8 steps
        // on the side of the group's largest magnitude and 7 on the other, so there a weight beyond 7 steps is clamped
        // and may be off by one step.
        var slack = w.abs().to(ScalarType.Float64) * 2e-3 + 1e-7;
        var inRange = w.to(ScalarType.Float64).abs().le(step * 7);
        Assert.True(error.le(step * 0.5 + slack).logical_or(inRange.logical_not()).all().item<bool>(), $"max error {error.max().item<double>()}");
        Assert.True(error.le(step + slack).all().item<bool>(), $"max error {error.max().item<double>()}");
        // Each group's value of largest magnitude is its code 0 (−8 steps).
        Assert.Equal(0f, back[3].abs().max().item<double>(), 0);
        Assert.True(Int4Weights.Dequantize(packed, scale, width, ScalarType.Float32).to(ScalarType.Float64).equal(back).all().item<bool>(),
            "the CPU dequantization differs from (q − 8) · d");
        var padding = packed.view(48, groups, 16).to(ScalarType.Int64);
        if (width % 32 != 0)
        {
            // The last group's padding weights are code 8: zero.
            var last = cat([padding.select(1, groups - 1).bitwise_and(15), padding.select(1, groups - 1).bitwise_right_shift(4)], 1);
            Assert.True(last.narrow(1, width % 32, 32 - width % 32).eq(8).all().item<bool>());
        }
    }

    [Fact]
    public void Dequantizing_to_bf16_rounds_the_fp32_weights_as_libtorch_does()
    {
        using var scope = NewDisposeScope();
        var (packed, scale) = Int4Weights.Quantize(randn(70, 300, generator: new Generator(3)).mul(exp(randn(70, 1, generator: new Generator(4)))));
        var fp32 = Int4Weights.Dequantize(packed, scale, 300, ScalarType.Float32);
        Assert.True(fp32.to(ScalarType.BFloat16).equal(Int4Weights.Dequantize(packed, scale, 300, ScalarType.BFloat16)).all().item<bool>());
    }

    /// <summary>Every finite fp16 bit pattern as a [n, 1] fp16 tensor (each value is an fp16 value, so the conversion is exact).</summary>
    private static Tensor EveryFiniteHalf() =>
        tensor(Enumerable.Range(0, 65536).Where(h => (h & 0x7C00) != 0x7C00).Select(h => (float)BitConverter.UInt16BitsToHalf((ushort)h)).ToArray())
            .to(ScalarType.Float16).view(-1, 1);

    /// <summary>Every finite fp16 scale, subnormals included, widens exactly: codes of 9 stand for 1 · d.</summary>
    [Fact]
    public void Every_finite_fp16_scale_widens_exactly()
    {
        using var scope = NewDisposeScope();
        var scale = EveryFiniteHalf();
        var bits = scale.shape[0];
        var packed = full(bits, Int4Weights.GroupBytes, 0x99, ScalarType.Byte);
        var weights = Int4Weights.Dequantize(packed, scale, Int4Weights.Group, ScalarType.Float32);
        Assert.True(weights.equal(scale.to(ScalarType.Float32).expand(-1, Int4Weights.Group)).all().item<bool>());
    }

    /// <summary>bf16 weights come from a per-group table of its 16 values: for every finite fp16 scale and every code, the bits of the fp32 weight rounded.</summary>
    [Fact]
    public void Bf16_weights_round_as_the_fp32_weights_do_for_every_scale_and_code()
    {
        using var scope = NewDisposeScope();
        var scale = EveryFiniteHalf();
        // Each row's 16 bytes hold every code in its low nibble and, shifted, in its high one.
        var codes = arange(16, dtype: ScalarType.Int32);
        var bytes = codes.bitwise_or(codes.roll(5).bitwise_left_shift(4)).to(ScalarType.Byte);
        var packed = bytes.view(1, -1).expand(scale.shape[0], -1).contiguous();
        var fp32 = Int4Weights.Dequantize(packed, scale, Int4Weights.Group, ScalarType.Float32);
        Assert.True(fp32.to(ScalarType.BFloat16).equal(Int4Weights.Dequantize(packed, scale, Int4Weights.Group, ScalarType.BFloat16)).all().item<bool>());
    }

    /// <summary>The kernel's formula in float64 from its own quantized activations: Σ_g d_w · d_x · Σ (q − 8) · xq.</summary>
    private static Tensor QuantizedProduct(Tensor x, Tensor packed, Tensor scale)
    {
        var groups = scale.shape[1];
        var (xq, dx, _) = Int4Gemv.QuantizeRows(x, groups);
        var w = Reference(packed, scale, groups * Int4Weights.Group).div(scale.to(ScalarType.Float64).repeat_interleave(32L, 1));
        // w is now q − 8 per weight (exact); the products per group, then scaled.
        var perGroup = xq.to(ScalarType.Float64).view(x.shape[0], 1, groups, 32).mul(w.view(1, -1, groups, 32)).sum([3]);
        return perGroup.mul(dx.to(ScalarType.Float64).unsqueeze(1)).mul(scale.to(ScalarType.Float64).unsqueeze(0)).sum([2]);
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1, 256, true)]
    [InlineData(ScalarType.BFloat16, 4, 200, false)]
    [InlineData(ScalarType.Float32, 7, 96, false)]
    [InlineData(ScalarType.Float32, 9, 4096, true)]
    public void Matches_its_formula_and_the_dequantized_weights_within_the_activations_rounding(ScalarType dtype, int rows, int inFeatures, bool withBias)
    {
        Assert.True(Int4Gemv.IsSupported, "this machine lacks AVX2 + FMA");
        using var scope = NewDisposeScope();
        var generator = new Generator(5);
        var (packed, scale) = Int4Weights.Quantize(randn(300, inFeatures, generator: generator).mul(0.05));
        var bias = withBias ? randn(300, generator: generator).to(dtype) : null;
        var x = randn(rows, inFeatures, generator: generator).to(dtype);
        Assert.True(Int4Gemv.Handles(x, packed));
        var actual = Int4Gemv.Forward(x, packed, scale, bias);
        Assert.Equal(dtype, actual.dtype);
        Assert.Equal([(long)rows, 300L], actual.shape);
        var b64 = bias?.to(ScalarType.Float64);
        var formula = QuantizedProduct(x, packed, scale) + (b64 ?? zeros(1, dtype: ScalarType.Float64));
        var roundoff = dtype == ScalarType.BFloat16 ? Math.Pow(2, -8) : 1e-5;
        var error = (actual.to(ScalarType.Float64) - formula).abs();
        Assert.True(error.le(formula.abs() * roundoff + 1e-4).all().item<bool>(), $"max error against the formula {error.max().item<double>()}");
        // Against the dequantized weights times x unquantized: int8 activations round each value by at most half of max |x| / 127 of its group.
        var exact = x.to(ScalarType.Float64).matmul(Reference(packed, scale, inFeatures).t()) + (b64 ?? zeros(1, dtype: ScalarType.Float64));
        var relative = (actual.to(ScalarType.Float64) - exact).norm().item<double>() / exact.norm().item<double>();
        Assert.True(relative < 0.01, $"relative error against the unquantized activations {relative}");
    }

    [Theory]
    [InlineData(64)]
    [InlineData(70)]
    public void Activations_quantize_per_group_as_round_of_x_over_max_abs_over_127(int width)
    {
        using var scope = NewDisposeScope();
        var x = randn(5, width, generator: new Generator(6)).mul(exp(randn(5, 1, generator: new Generator(7))));
        x[2] = zeros(width);
        var groups = (width + 31) / 32;
        var (values, scales, offsets) = Int4Gemv.QuantizeRows(x, groups);
        var g = nn.functional.pad(x, [0, groups * 32 - width]).view(5, groups, 32);
        var dx = g.abs().amax([2]).div(127f);
        var q = g.div(where(dx.eq(0), ones_like(dx), dx).unsqueeze(2)).round().clamp(-127, 127);
        Assert.True(scales.equal(dx).all().item<bool>());
        Assert.True(values.to(ScalarType.Float32).view(5, groups, 32).equal(q).all().item<bool>());
        Assert.True(offsets.equal(q.sum([2]).mul(-8f)).all().item<bool>());
    }

    [Fact]
    public void Each_row_comes_out_bit_for_bit_the_same_whatever_rows_share_its_batch()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(8);
        var (packed, scale) = Int4Weights.Quantize(randn(200, 1000, generator: generator));
        var x = randn(Int4Gemv.MaxRows, 1000, generator: generator);
        var all = Int4Gemv.Forward(x, packed, scale, null);
        foreach (var (start, count) in new[] { (0, 1), (5, 1), (2, 3), (3, 4), (20, 11) })
            Assert.True(Int4Gemv.Forward(x.narrow(0, start, count), packed, scale, null).equal(all.narrow(0, start, count)).all().item<bool>(),
                $"rows {start}+{count}");
        Assert.False(Int4Gemv.Handles(zeros(Int4Gemv.MaxRows + 1, 1000), packed));
    }

    [Fact]
    public void A_row_of_zeros_and_a_group_of_zeros_give_exact_results()
    {
        using var scope = NewDisposeScope();
        var (packed, scale) = Int4Weights.Quantize(randn(40, 64, generator: new Generator(3)));
        var x = randn(2, 64, generator: new Generator(4));
        x[0] = zeros(64);
        x[1, TensorIndex.Slice(0, 32)] = zeros(32);
        var y = Int4Gemv.Forward(x, packed, scale, null);
        Assert.Equal(0.0, y[0].abs().max().item<float>());
        // A group of zeros adds exact zeros: the row is what its second group alone gives.
        var secondGroupOnly = Int4Gemv.Forward(x[1].narrow(0, 32, 32).view(1, 32), packed.narrow(1, 16, 16).contiguous(), scale.narrow(1, 1, 1).contiguous(), null);
        Assert.True(y[1].equal(secondGroupOnly[0]).all().item<bool>());
    }

    [Fact]
    public void A_linear_layer_with_4_bit_weights_gives_its_decode_rows_and_its_prompts_the_same_product()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(9);
        var dense = randn(96, 80, generator: generator).mul(0.1);
        var (packed, scale) = Int4Weights.Quantize(dense);
        using var linear = new Linear(new QuantizedWeight(Quantization.Int4, packed, scale), 80, null);
        Assert.Equal(Quantization.Int4, linear.Format);
        Assert.Equal(96 * 48 + 96 * 3 * 2, linear.WeightBytes);
        var x = randn(2, 9, 80, generator: generator);
        var prompt = linear.Forward(x);
        Tensor decode;
        using (DecodeScope.Enter())
            decode = linear.Forward(x.reshape(18, 1, 80)).reshape(2, 9, 96);
        var exact = x.to(ScalarType.Float64).matmul(Reference(packed, scale, 80).t());
        // Prompts multiply the dequantized weights; decode rows quantize x to int8 per group of 32 first.
        Assert.True((prompt.to(ScalarType.Float64) - exact).abs().max().item<double>() < 1e-4);
        Assert.True((decode.to(ScalarType.Float64) - exact).norm().item<double>() / exact.norm().item<double>() < 0.01);
    }
}
