using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>
/// Per cross-attention layer, the keys (k_norm applied) and values projected from the image features once:
/// [B, KV heads, images·tiles·tokens, head_dim]. Read-only after it is built, so any number of sequences
/// decoding from the same image share one copy.
/// </summary>
public sealed class CrossAttentionCache : IDisposable
{
    private readonly Dictionary<int, (Tensor Keys, Tensor Values)> _layers = new();

    public void Set(int layer, Tensor keys, Tensor values) =>
        _layers[layer] = (keys.DetachFromDisposeScope(), values.DetachFromDisposeScope());

    public (Tensor Keys, Tensor Values) Get(int layer) =>
        _layers.TryGetValue(layer, out var kv)
            ? kv
            : throw new InvalidOperationException($"no cross-attention keys for layer {layer}");

    /// <summary>Every layer's keys and values (to size the cache).</summary>
    public IEnumerable<Tensor> Tensors => _layers.Values.SelectMany(kv => new[] { kv.Keys, kv.Values });

    public void Dispose()
    {
        foreach (var (k, v) in _layers.Values)
        {
            k.Dispose();
            v.Dispose();
        }
        _layers.Clear();
    }
}
