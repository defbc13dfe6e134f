using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>
/// One sampled token's raw log-probability (the log-softmax of the model's fp32 logits, before temperature, top-k and
/// top-p) and the most likely tokens of that step, best first.
/// </summary>
public sealed record SampledLogProbs(int Token, float LogProb, IReadOnlyList<int> TopIds, IReadOnlyList<float> TopLogProbs)
{
    /// <summary>The most alternatives a row may ask for (OpenAI's top_logprobs bound).</summary>
    public const int MaxTop = 20;

    /// <summary>
    /// The log-probabilities of <paramref name="tokens"/>[r] under <paramref name="logits"/>[r] and each row's top
    /// <paramref name="top"/>[r] alternatives; null for a row whose count is null. All rows that ask are computed as one
    /// [rows, vocab] tensor, and a row's values do not depend on the others: the log-softmax normalises each row on its
    /// own, and the top alternatives are always the best <see cref="MaxTop"/>, cut to what the row asked for.
    /// </summary>
    public static SampledLogProbs?[] Of(Tensor logits, IReadOnlyList<long> tokens, IReadOnlyList<int?> top)
    {
        var result = new SampledLogProbs?[tokens.Count];
        var asked = Enumerable.Range(0, tokens.Count).Where(r => top[r] is not null).ToList();
        if (asked.Count == 0)
            return result;
        using var scope = NewDisposeScope();
        var rows = asked.Count == tokens.Count ? logits : logits.index_select(0, tensor(asked.Select(r => (long)r).ToArray()).to(logits.device));
        var logProbs = rows.to(ScalarType.Float32).log_softmax(-1);
        var chosenIds = tensor(asked.Select(r => tokens[r]).ToArray()).view(-1, 1).to(logits.device);
        var chosen = logProbs.gather(1, chosenIds).reshape(-1).cpu().data<float>().ToArray();
        var k = (int)Math.Min(MaxTop, logProbs.shape[^1]);
        float[] values = [];
        long[] ids = [];
        if (asked.Any(r => top[r] > 0))
        {
            var (v, i) = logProbs.topk(k, dim: -1, largest: true, sorted: true);
            values = v.cpu().data<float>().ToArray();
            ids = i.cpu().data<long>().ToArray();
        }
        for (var j = 0; j < asked.Count; j++)
        {
            var r = asked[j];
            var n = Math.Min(top[r]!.Value, k);
            result[r] = new SampledLogProbs((int)tokens[r], chosen[j],
                ids.Skip(j * k).Take(n).Select(id => (int)id).ToArray(), values.Skip(j * k).Take(n).ToArray());
        }
        return result;
    }
}
