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

/// <summary>A weight source that can hand a linear weight over as int8 values with per-output-channel scales.</summary>
public interface IInt8WeightSource : IWeightSource
{
    /// <summary>The weight [out, in] as int8 and its fp32 scales [out], or null to load it dense.</summary>
    (Tensor Weight, Tensor Scale)? LoadInt8(string name, long[] shape);
}
