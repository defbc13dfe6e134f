using LlavaCot.Model.Text;
using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>
/// One request's part of a shared decode step: the next token of each of its sequences (<paramref name="Ids"/>, one
/// per row of <paramref name="Cache"/>), and the image they see (null for text-only sequences).
/// </summary>
public sealed record DecodeRows(Tensor Ids, KvCache Cache, CrossAttentionCache? CrossKv, CrossAttentionBias? CrossMask);
