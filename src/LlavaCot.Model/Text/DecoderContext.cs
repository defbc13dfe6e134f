using LlavaCot.Model.Generation;
using static TorchSharp.torch;

namespace LlavaCot.Model.Text;

/// <summary>
/// What every decoder layer of one forward pass shares: rotary tables for the new positions, the self-attention
/// cache (null for a cache-free pass), the causal mask (null when SDPA's own causal flag suffices or n = 1),
/// and the image side (null for text-only input, which skips the cross-attention layers).
/// </summary>
public sealed record DecoderContext(
    Tensor Cos,
    Tensor Sin,
    KvCache? Cache,
    Tensor? SelfMask,
    bool Causal,
    CrossAttentionCache? CrossKv,
    CrossAttentionBias? CrossMask);
