using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>A weight source seen from one module's name prefix, so modules ask for "q_proj" and get "…self_attn.q_proj".</summary>
public sealed class WeightScope(IWeightSource source, string prefix = "")
{
    public string Prefix => prefix;

    /// <summary>The dtype the model computes in.</summary>
    public ScalarType DType => source.DType;

    public WeightScope this[string child] => new(source, Name(child));

    public string Name(string child) => prefix.Length == 0 ? child : $"{prefix}.{child}";

    /// <summary>A frozen parameter: inference never needs gradients, training turns them on explicitly.</summary>
    public Parameter Param(string name, params long[] shape) =>
        new(source.Load(Name(name), shape), requires_grad: false);

    /// <summary>A frozen large matrix (linear weight, embedding table), in the dtype weights are kept in (<see cref="IWeightSource.LoadMatrix"/>).</summary>
    public Parameter Matrix(string name, params long[] shape) =>
        new(source.LoadMatrix(Name(name), shape), requires_grad: false);

    /// <summary>A large matrix handed over quantized, when the source quantizes it (null: load it dense).</summary>
    public QuantizedWeight? Quantized(string name, params long[] shape) =>
        source is IQuantizedWeightSource quantized ? quantized.LoadQuantized(Name(name), shape) : null;

    public Linear Linear(string name, long inFeatures, long outFeatures, bool bias)
    {
        var scope = this[name];
        var b = bias ? scope.Param("bias", outFeatures) : null;
        if (scope.Quantized("weight", outFeatures, inFeatures) is { } q)
            return new Linear(q, inFeatures, b);
        return new Linear(scope.Matrix("weight", outFeatures, inFeatures), b);
    }
}
