using LlavaCot.Model.Config;
using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>One checkpoint tensor: its Hugging Face name and shape.</summary>
public sealed record WeightEntry(string Name, long[] Shape)
{
    public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// Every weight a config's model asks for, by name and shape, in the order the modules ask, without holding any: the
/// model is built over tensors on the meta device, which have shapes and no storage.
/// </summary>
public sealed class WeightManifest : IWeightSource
{
    private readonly List<WeightEntry> _entries = [];

    public ScalarType DType => ScalarType.Float32;

    public Tensor Load(string name, long[] shape)
    {
        _entries.Add(new WeightEntry(name, shape));
        return empty(shape, ScalarType.Float32, META);
    }

    public static IReadOnlyList<WeightEntry> Of(MllamaConfig config)
    {
        var manifest = new WeightManifest();
        // Only the weights live on the meta device; what modules precompute from the config (RoPE tables) is small.
        using var model = MllamaModel.Create(config, manifest, ScalarType.Float32, CPU);
        return manifest._entries;
    }
}
