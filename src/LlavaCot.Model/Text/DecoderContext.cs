using LlavaCot.Model.Generation;
using static TorchSharp.torch;

namespace LlavaCot.Model.Text;

/// <summary>
/// What every decoder layer of one forward pass shares: rotary tables for the new positions (of every row) and the
/// row groups. A pass over one request's sequences is one group; a decode step over several requests has a group
/// per request, each attending to its own cache and image while the linear layers run over all rows at once.
/// </summary>
public sealed record DecoderContext(Tensor Cos, Tensor Sin, IReadOnlyList<RowGroup> Groups)
{
    /// <summary>The groups that see an image (the cross-attention layers are the identity for the others).</summary>
    public IReadOnlyList<RowGroup> Seeing => Groups.Where(g => g.Sees).ToList();
}

/// <summary>
/// Rows <paramref name="Start"/>.. of a pass that belong together: their self-attention cache (null for a cache-free
/// pass), causal mask (null when SDPA's own causal flag suffices or n = 1), and image side (null for text-only
/// rows).
/// </summary>
public sealed record RowGroup(
    long Start,
    long Count,
    KvCache? Cache,
    Tensor? SelfMask,
    bool Causal,
    CrossAttentionCache? CrossKv,
    CrossAttentionBias? CrossMask)
{
    public bool Sees => CrossKv is not null && CrossMask is not null;

    /// <summary>This group's rows of <paramref name="t"/> (the whole tensor when it is the only group).</summary>
    public Tensor Rows(Tensor t) => Start == 0 && Count == t.shape[0] ? t.alias() : t.narrow(0, Start, Count);

    /// <summary>The groups' parts back in one tensor, in order (the part itself when there is one group).</summary>
    public static Tensor Join(IList<Tensor> parts) => parts.Count == 1 ? parts[0] : cat(parts, 0);
}
