using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// Seeded random weights for benchmarks and new models: each tensor's values depend only on the seed and its
/// name, so the same config and seed always give the same model whatever order modules are built in.
/// </summary>
/// <param name="matrixDType">The dtype of linear weights and embedding tables, when narrower than <paramref name="dtype"/>.</param>
public sealed class RandomWeights(long seed, ScalarType dtype, Device device, ScalarType? matrixDType = null) : IWeightSource
{
    public ScalarType DType => dtype;

    public ScalarType MatrixDType => matrixDType ?? dtype;

    public Tensor Load(string name, long[] shape) => Random(name, shape, dtype);

    public Tensor LoadMatrix(string name, long[] shape) => Random(name, shape, MatrixDType);

    private Tensor Random(string name, long[] shape, ScalarType type)
    {
        using var generator = new Generator(Seed(name));
        Tensor t;
        if (IsGate(name))
            t = full(shape, 0.5f, ScalarType.Float32);
        else if (IsNorm(name))
            t = ones(shape, ScalarType.Float32);
        else if (name.EndsWith(".bias", StringComparison.Ordinal))
            t = zeros(shape, ScalarType.Float32);
        else
        {
            // N(0, 1/fan_in) keeps activations of a deep random stack bounded.
            var fanIn = shape.Length > 1 ? shape.Skip(1).Aggregate(1L, (a, b) => a * b) : shape[0];
            t = randn(shape, ScalarType.Float32, generator: generator).mul_(1.0 / Math.Sqrt(fanIn));
        }
        return t.to(type, device, disposeAfter: true);
    }

    /// <summary>FNV-1a over the name, mixed with the model seed.</summary>
    private ulong Seed(string name)
    {
        var h = 14695981039346656037UL ^ (ulong)seed;
        foreach (var c in name)
            h = (h ^ c) * 1099511628211UL;
        return h & long.MaxValue;
    }

    private static bool IsGate(string name) => name.EndsWith("gate", StringComparison.Ordinal)
                                               || name.EndsWith("gate_attn", StringComparison.Ordinal)
                                               || name.EndsWith("gate_ffn", StringComparison.Ordinal);

    private static bool IsNorm(string name) => name.EndsWith("norm.weight", StringComparison.Ordinal)
                                               || name.EndsWith("layernorm.weight", StringComparison.Ordinal)
                                               || name.Contains("layernorm_", StringComparison.Ordinal) && name.EndsWith(".weight", StringComparison.Ordinal);
}
