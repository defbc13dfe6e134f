using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>Any weight source with the linear weights int8 quantization takes handed over quantized (e.g. random weights for benchmarks).</summary>
public sealed class Int8Quantizing(IWeightSource inner) : IInt8WeightSource
{
    public ScalarType DType => inner.DType;

    public ScalarType MatrixDType => inner.MatrixDType;

    public Tensor Load(string name, long[] shape) => inner.Load(name, shape);

    public Tensor LoadMatrix(string name, long[] shape) => inner.LoadMatrix(name, shape);

    public (Tensor Weight, Tensor Scale)? LoadInt8(string name, long[] shape)
    {
        if (!CheckpointWeights.Quantizable(name, shape))
            return null;
        using var dense = inner.LoadMatrix(name, shape);
        return Int8Weights.Quantize(dense);
    }
}
