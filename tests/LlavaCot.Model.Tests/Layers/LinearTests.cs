using LlavaCot.Model.Layers;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Layers;

/// <summary>Prompts against compact weights (int8, or bf16 under fp32 compute), widened a block of output rows at a time.</summary>
public class LinearTests
{
    // More output rows than one widened block holds at this width (4 MB of fp32), and not a multiple of it.
    private const int Out = 2500, In = 512;

    /// <param name="rows">A short prompt (block by block) or a long input (the whole weight widened).</param>
    [Theory]
    [InlineData(7)]
    [InlineData(300)]
    public void A_prompt_against_bf16_weights_under_fp32_compute_equals_the_product_with_the_widened_weight(int rows)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(8);
        var weight = randn(Out, In, generator: generator).mul(0.05).to(ScalarType.BFloat16);
        var bias = randn(Out, generator: generator);
        var x = randn(rows, In, generator: generator);
        using var linear = new Linear(new TorchSharp.Modules.Parameter(weight.clone(), requires_grad: false), new TorchSharp.Modules.Parameter(bias.clone(), requires_grad: false));
        var y = linear.Forward(x);
        Assert.Equal(ScalarType.Float32, y.dtype);
        TensorAssert.Close(nn.functional.linear(x, weight.to(ScalarType.Float32), bias), y, 1e-5, "blockwise vs whole");
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, 7)]
    [InlineData(ScalarType.Float32, 7)]
    [InlineData(ScalarType.BFloat16, 300)]
    public void A_prompt_against_int8_weights_equals_the_product_with_the_dequantized_weight(ScalarType dtype, int rows)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(9);
        var (q, scale) = Int8Weights.Quantize(randn(Out, In, generator: generator).mul(0.05));
        var bias = randn(Out, generator: generator).to(dtype);
        var x = randn(rows, In, generator: generator).to(dtype);
        using var linear = new Linear(new QuantizedWeight(Quantization.Int8, q.clone(), scale.clone()), In, new TorchSharp.Modules.Parameter(bias.clone(), requires_grad: false));
        var y = linear.Forward(x);
        Assert.Equal(dtype, y.dtype);
        var expected = nn.functional.linear(x.to(ScalarType.Float32), Int8Weights.Dequantize(q, scale, dtype).to(ScalarType.Float32), bias.to(ScalarType.Float32));
        TensorAssert.Close(expected, y.to(ScalarType.Float32), dtype == ScalarType.Float32 ? 1e-5 : 0.05, "blockwise vs whole");
    }
}
