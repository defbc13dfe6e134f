using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>Any weight source with the linear weights quantization takes handed over quantized (e.g. random weights for benchmarks).</summary>
public sealed class Quantizing(IWeightSource inner, Quantization format) : IQuantizedWeightSource
{
    public ScalarType DType => inner.DType;

    public ScalarType MatrixDType => inner.MatrixDType;

    public Tensor Load(string name, long[] shape) => inner.Load(name, shape);

    public Tensor LoadMatrix(string name, long[] shape) => inner.LoadMatrix(name, shape);

    public QuantizedWeight? LoadQuantized(string name, long[] shape)
    {
        if (CheckpointWeights.FormatFor(name, shape, format) is not { } chosen)
            return null;
        using var dense = inner.LoadMatrix(name, shape);
        return Quantize(dense, chosen);
    }

    /// <summary>A dense weight in <paramref name="format"/> (int8 or int4).</summary>
    public static QuantizedWeight Quantize(Tensor dense, Quantization format)
    {
        var (values, scale) = format == Quantization.Int4 ? Int4Weights.Quantize(dense) : Int8Weights.Quantize(dense);
        return new QuantizedWeight(format, values, scale);
    }
}
