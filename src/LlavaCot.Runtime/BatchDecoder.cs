using LlavaCot.Model;
using LlavaCot.Model.Generation;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.Text;
using LlavaCot.Reasoning;
using static TorchSharp.torch;

namespace LlavaCot.Runtime;

/// <summary>One generated continuation: its new ids and why it stopped.</summary>
internal sealed record GeneratedSequence(IReadOnlyList<int> NewIds, StopReason Reason);

/// <summary>What the sequences of one decode share, and their seeds.</summary>
/// <param name="PromptTexts">Each row's prefix decoded without special tokens (one text may serve all rows): the stop
/// rule searches it too, as the reference does.</param>
internal sealed record DecodeSpec(
    IReadOnlyList<ulong> Seeds, StopCondition Stop, SamplingOptions Sampling, IReadOnlySet<int> Eos, IReadOnlyList<string> PromptTexts,
    bool SkipSpecialTokens)
{
    public string PromptText(int row) => PromptTexts.Count == 1 ? PromptTexts[0] : PromptTexts[row];
}

/// <summary>
/// Decodes N sequences as one batch from a cache holding their prefixes (one shared prefix forked, or different
/// prompts stacked; <paramref name="firstLogits"/> is [1 or N, vocab]): each step samples every active
/// row with its own RNG, streams its text, applies EOS / stop strings / max tokens, drops finished rows from the
/// batch, and feeds the rest one token each. Checks cancellation every step.
/// </summary>
internal static class BatchDecoder
{
    public static IReadOnlyList<GeneratedSequence> Run(
        MllamaModel model, ITokenizer tokenizer, KvCache cache, Tensor firstLogits, CrossAttentionCache? kv,
        CrossAttentionBias? continuation, DecodeSpec spec, Action<int, string>? onDelta, CancellationToken ct)
    {
        var n = spec.Seeds.Count;
        var settings = new SamplerSettings(spec.Sampling.Temperature, spec.Sampling.TopK, spec.Sampling.TopP);
        var rngs = spec.Seeds.Select(s => new SeedStream(s)).ToArray();
        var texts = Enumerable.Range(0, n).Select(i => new CandidateText(tokenizer, spec.SkipSpecialTokens, spec.PromptText(i), spec.Stop)).ToArray();
        var ids = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
        var reasons = new StopReason[n];
        var active = Enumerable.Range(0, n).ToList();
        if (spec.Stop.MaxNewTokens <= 0)
            return ids.Select(l => new GeneratedSequence(l, StopReason.MaxTokens)).ToList();

        var logits = (firstLogits.shape[0] == 1 ? firstLogits.expand(n, -1) : firstLogits.alias()).DetachFromDisposeScope();
        try
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var tokens = TokenSampler.Sample(logits, settings, active.Select(i => (Func<double>)rngs[i].NextDouble).ToList());
                var continuing = new List<int>();
                for (var row = 0; row < active.Count; row++)
                {
                    var i = active[row];
                    var token = (int)tokens[row];
                    ids[i].Add(token);
                    var (delta, stopped) = texts[i].Add(token);
                    StopReason? reason = null;
                    if (!spec.Stop.IgnoreEos && spec.Eos.Contains(token))
                        reason = StopReason.EndOfSequence;
                    else if (stopped)
                        reason = StopReason.StopString;
                    else if (ids[i].Count >= spec.Stop.MaxNewTokens)
                        reason = StopReason.MaxTokens;
                    if (reason is { } r)
                    {
                        reasons[i] = r;
                        delta += texts[i].Flush();
                    }
                    else
                        continuing.Add(row);
                    if (delta.Length > 0)
                        onDelta?.Invoke(i, delta);
                }
                if (continuing.Count == 0)
                    break;
                if (continuing.Count < active.Count)
                    cache.Keep(continuing.Select(r => (long)r).ToList());
                var next = tensor(continuing.Select(r => tokens[r]).ToArray()).view(-1, 1);
                active = continuing.Select(r => active[r]).ToList();
                var stepLogits = model.Decode(next, cache, kv, continuation).select(1, 0);
                logits.Dispose();
                logits = stepLogits.DetachFromDisposeScope();
            }
        }
        finally
        {
            logits.Dispose();
        }
        return ids.Select((l, i) => new GeneratedSequence(l, reasons[i])).ToList();
    }
}
