using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>Supplies each weight by its HF name and the shape the config implies.</summary>
public interface IWeightSource
{
    /// <summary>The tensor in the model's dtype and device; throws naming the tensor if it is absent or has another shape.</summary>
    Tensor Load(string name, long[] shape);
}

/// <summary>A weight source that can hand a linear weight over as int8 values with per-output-channel scales.</summary>
public interface IInt8WeightSource : IWeightSource
{
    /// <summary>The weight [out, in] as int8 and its fp32 scales [out], or null to load it dense.</summary>
    (Tensor Weight, Tensor Scale)? LoadInt8(string name, long[] shape);
}
