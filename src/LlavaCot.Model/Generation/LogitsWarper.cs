using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>
/// HF 4.45's TemperatureLogitsWarper → TopKLogitsWarper → TopPLogitsWarper (min_tokens_to_keep = 1) on fp32
/// logits [N, vocab]; removed tokens get -inf. A warper that would be a no-op is skipped, as HF does.
/// </summary>
public static class LogitsWarper
{
    public static Tensor Warp(Tensor logits, SamplerSettings s)
    {
        using var scope = NewDisposeScope();
        var scores = logits.to(ScalarType.Float32);
        if (s.Temperature != 1.0)
            scores = scores / s.Temperature;
        if (s.TopK > 0)
        {
            // Ties with the k-th largest all stay.
            var k = (int)Math.Min(s.TopK, scores.shape[^1]);
            var kth = scores.topk(k).values.narrow(-1, k - 1, 1);
            scores = scores.masked_fill(scores.lt(kth), float.NegativeInfinity);
        }
        if (s.TopP < 1.0)
        {
            var (sorted, order) = scores.sort(-1, descending: false);
            var cumulative = sorted.softmax(-1).cumsum(-1);
            // Drop the low tail whose mass is at most 1 - top_p; the most likely token always stays.
            var remove = cumulative.le(1 - s.TopP);
            remove.narrow(-1, remove.shape[^1] - 1, 1).fill_(false);
            scores = scores.masked_fill(remove.scatter(-1, order, remove), float.NegativeInfinity);
        }
        return scores.MoveToOuterDisposeScope();
    }

    /// <summary>The distribution sampled from: softmax of the warped scores (0 for removed tokens).</summary>
    public static Tensor Probabilities(Tensor logits, SamplerSettings s)
    {
        using var scope = NewDisposeScope();
        return Warp(logits, s).softmax(-1).MoveToOuterDisposeScope();
    }
}
