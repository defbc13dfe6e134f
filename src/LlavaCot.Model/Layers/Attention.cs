using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LlavaCot.Model.Layers;

/// <summary>Scaled dot-product attention with grouped key/value heads (GQA).</summary>
public static class Attention
{
    /// <summary>
    /// q [B, H, n, d] against k, v [Bk, KV, S, d] with Bk = B, or Bk = 1 shared by every sequence (one image's
    /// cross-attention states serving N candidates). mask: additive, broadcastable to [B, 1, n, S], or null.
    /// causal: top-left causal masking, valid only when S = n. Returns [B, n, H·d].
    /// </summary>
    public static Tensor Forward(Tensor q, Tensor k, Tensor v, Tensor? mask, bool causal)
    {
        using var scope = NewDisposeScope();
        var (b, h, n, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3]);
        var (bk, kv) = (k.shape[0], k.shape[1]);
        var groups = h / kv;
        Tensor output;
        if (n == 1 && !causal && (mask is null || mask.shape[2] == 1))
            output = SingleQuery(q, k, v, mask, b, bk, kv, groups, d);
        else
        {
            // Prefill: materialise each KV head for its query group; the cost is linear in S.
            if (bk != b)
            {
                k = k.expand(b, -1, -1, -1);
                v = v.expand(b, -1, -1, -1);
            }
            if (groups > 1)
            {
                k = k.repeat_interleave(groups, dim: 1);
                v = v.repeat_interleave(groups, dim: 1);
            }
            output = F.scaled_dot_product_attention(q, k, v, mask, is_casual: causal);
        }
        return output.transpose(1, 2).reshape(b, n, h * d).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One query per sequence: the query heads of a group become rows against their shared KV head, so the
    /// cache is read in place instead of being copied once per query head (decode is memory-bound).
    /// </summary>
    private static Tensor SingleQuery(Tensor q, Tensor k, Tensor v, Tensor? mask, long b, long bk, long kv, long groups, long d)
    {
        if (bk == b)
        {
            var rows = q.reshape(b, kv, groups, d);
            var m = mask?.expand(b, 1, 1, -1);
            var o = F.scaled_dot_product_attention(rows, k, v, m);
            return o.reshape(b, kv * groups, 1, d);
        }
        if (bk != 1)
            throw new ArgumentException($"key/value batch {bk} must be 1 or the query batch {b}");
        if (mask is not null && mask.shape[0] != 1)
            throw new ArgumentException("a key/value batch shared by all sequences needs a shared mask");
        // [B, H, 1, d] → [1, KV, groups·B, d]: every sequence's query heads of a group attend to that group's KV head.
        var folded = q.reshape(b, kv, groups, d).permute(1, 2, 0, 3).reshape(1, kv, groups * b, d);
        var shared = F.scaled_dot_product_attention(folded, k, v, mask);
        return shared.reshape(kv, groups, b, d).permute(2, 0, 1, 3).reshape(b, kv * groups, 1, d);
    }
}
