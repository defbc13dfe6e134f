using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>Supplies each weight by its HF name and the shape the config implies.</summary>
public interface IWeightSource
{
    /// <summary>The tensor in the model's dtype and device; throws naming the tensor if it is absent or has another shape.</summary>
    Tensor Load(string name, long[] shape);
}
