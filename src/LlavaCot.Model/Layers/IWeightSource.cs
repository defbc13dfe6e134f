using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>Supplies each weight by its HF name and the shape the config implies.</summary>
public interface IWeightSource
{
    /// <summary>The dtype the model computes in, which <see cref="Load"/> gives.</summary>
    ScalarType DType { get; }

    /// <summary>The dtype <see cref="LoadMatrix"/> gives: <see cref="DType"/>, or a narrower one the weights are kept in.</summary>
    ScalarType MatrixDType => DType;

    /// <summary>The tensor in the compute dtype and the model's device; throws naming the tensor if it is absent or has another shape.</summary>
    Tensor Load(string name, long[] shape);

    /// <summary>
    /// A large matrix (a linear weight, an embedding table) in <see cref="MatrixDType"/>. Kept narrower than the compute
    /// dtype (bf16 weights computed in fp32 on a CPU without bf16 arithmetic), its module widens what it uses.
    /// </summary>
    Tensor LoadMatrix(string name, long[] shape) => Load(name, shape);
}

/// <summary>How linear weights are kept: dense, int8 per output channel (<see cref="Int8Weights"/>), or 4-bit in groups (<see cref="Int4Weights"/>).</summary>
public enum Quantization
{
    None,
    Int8,
    Int4,
}

/// <summary>What each format keeps, in words for logs and clients.</summary>
public static class QuantizationText
{
    /// <summary>The setting's name: none, int8, int4.</summary>
    public static string Name(Quantization format) => format.ToString().ToLowerInvariant();

    public static string Describe(Quantization format) => format switch
    {
        Quantization.Int8 => "int8: text decoder and projector linear weights per output channel with fp32 scales",
        Quantization.Int4 => "int4: text decoder and projector linear weights in groups of 32 with fp16 scales, output head and token embeddings int8",
        _ => "dense: every weight in the compute dtype",
    };
}

/// <summary>
/// A linear weight kept quantized: <see cref="Quantization.Int8"/> values [out, in] with fp32 scales [out], or
/// <see cref="Quantization.Int4"/> codes [out, groups · 16] with fp16 scales [out, groups].
/// </summary>
public sealed record QuantizedWeight(Quantization Format, Tensor Values, Tensor Scale);

/// <summary>A weight source that can hand a linear weight over quantized.</summary>
public interface IQuantizedWeightSource : IWeightSource
{
    /// <summary>The weight [out, in] quantized, or null to load it dense.</summary>
    QuantizedWeight? LoadQuantized(string name, long[] shape);
}
