using LlavaCot.Model.Text;
using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>
/// The engine's request that only scores (prefill, no decoding): the log-probability of each continuation's tokens
/// after <paramref name="Prompt"/>, each given the prompt and the continuation's tokens before it.
/// </summary>
/// <param name="Shared">How many of the prompt's tokens other prompts share (an instruction before a candidate): they are
/// prefilled as a chunk of their own, so a prompt's scores do not depend on what else was scored.</param>
/// <param name="WithImage">The prompt's rows attend to the request's image.</param>
public sealed record ScoreSpec(IReadOnlyList<int> Prompt, int Shared, IReadOnlyList<IReadOnlyList<int>> Continuations, bool WithImage);

/// <summary>Teacher-forced log-probabilities of continuations after a prefilled prompt.</summary>
public static class TokenScoring
{
    /// <summary>
    /// Each continuation's token log-probabilities (the raw log-softmax of fp32 logits) after a prompt already prefilled
    /// into the one-row <paramref name="cache"/>, whose last position gave <paramref name="lastLogits"/> [1, vocab]:
    /// the first token's from those logits, the others' from one prefill of the continuation but its last token, on a
    /// copy of the cache (the cache itself is left as it was).
    /// </summary>
    /// <param name="rows">The cross-attention rows of a continuation's positions but its last (null without an image).</param>
    public static IReadOnlyList<IReadOnlyList<double>> Continue(MllamaModel model, KvCache cache, Tensor lastLogits, CrossAttentionCache? kv,
        Func<IReadOnlyList<int>, CrossAttentionBias?> rows, IReadOnlyList<IReadOnlyList<int>> continuations)
    {
        using var scope = NewDisposeScope();
        var first = lastLogits.to(ScalarType.Float32).log_softmax(-1).reshape(-1);
        var result = new List<IReadOnlyList<double>>();
        foreach (var continuation in continuations)
        {
            if (continuation.Count == 0)
                throw new ArgumentException("a continuation to score needs at least one token");
            var logProbs = new List<double> { first[continuation[0]].item<float>() };
            if (continuation.Count > 1)
            {
                using var copy = cache.Fork(1, continuation.Count);
                using var bias = rows(continuation);
                var fed = tensor(continuation.Take(continuation.Count - 1).Select(i => (long)i).ToArray()).view(1, -1);
                var later = model.Prefill(fed, copy, kv, bias, allLogits: true)[0].to(ScalarType.Float32).log_softmax(-1);
                var next = tensor(continuation.Skip(1).Select(i => (long)i).ToArray()).view(-1, 1).to(later.device);
                logProbs.AddRange(later.gather(1, next).reshape(-1).data<float>().Select(v => (double)v));
            }
            result.Add(logProbs);
        }
        return result;
    }
}
