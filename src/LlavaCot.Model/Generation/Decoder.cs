using LlavaCot.Model.Inputs;
using LlavaCot.Model.Text;
using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>
/// The decode loop: every row of a cache decodes in lockstep, one token per step. Each step samples every active
/// row with its own sampler settings and uniform source, streams its text, applies its EOS set, stop strings and
/// token budget, drops finished rows from the batch and feeds the rest. Checks cancellation every step.
/// </summary>
public static class Decoder
{
    /// <summary>Called once per step with the logits [active rows, vocab] sampled from and the rows they belong to.</summary>
    public delegate void LogitsObserver(Tensor logits, IReadOnlyList<int> rows);

    /// <param name="cache">Holds every row's prefix (one shared prefix forked, or prompts stacked).</param>
    /// <param name="firstLogits">The prefixes' last-position logits, [1 or rows, vocab].</param>
    /// <param name="tokenizer">Streams each row's text; may be null when no row's stop rule reads text and nobody listens.</param>
    /// <param name="onText">Text released by a row (row index, text).</param>
    public static IReadOnlyList<GeneratedSequence> Run(
        MllamaModel model, KvCache cache, Tensor firstLogits, CrossAttentionCache? kv, CrossAttentionBias? continuation,
        IReadOnlyList<SequenceSpec> rows, ITokenizer? tokenizer = null, Action<int, string>? onText = null,
        LogitsObserver? observe = null, CancellationToken ct = default)
    {
        var n = rows.Count;
        if (tokenizer is null && (onText is not null || rows.Any(r => r.Stop.NeedsText)))
            throw new ArgumentException("streaming text or stop strings need a tokenizer");
        var texts = rows.Select(r => tokenizer is null ? null : new SequenceText(tokenizer, r.SkipSpecialTokens, r.PromptText, r.Stop)).ToArray();
        var ids = rows.Select(_ => new List<int>()).ToArray();
        var reasons = new FinishReason[n];
        var active = Enumerable.Range(0, n).Where(i => rows[i].Stop.MaxNewTokens > 0).ToList();
        foreach (var i in Enumerable.Range(0, n).Except(active))
            reasons[i] = FinishReason.MaxTokens;
        if (active.Count == 0)
            return Results(ids, reasons);
        if (active.Count < n)
            cache.Keep(active.Select(i => (long)i).ToList());

        var logits = (firstLogits.shape[0] == 1 ? firstLogits.expand(n, -1) : firstLogits.alias()).DetachFromDisposeScope();
        if (active.Count < n)
            logits = Rows(logits, active);
        try
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                observe?.Invoke(logits, active);
                var tokens = TokenSampler.Sample(logits, active.Select(i => rows[i].Sampler).ToList(), active.Select(i => rows[i].Uniform).ToList());
                var continuing = new List<int>();
                for (var row = 0; row < active.Count; row++)
                {
                    var i = active[row];
                    var token = (int)tokens[row];
                    ids[i].Add(token);
                    var (delta, stopped) = texts[i]?.Add(token) ?? ("", false);
                    FinishReason? reason = rows[i].Stop.Eos.Contains(token) ? FinishReason.EndOfSequence
                        : stopped ? FinishReason.StopString
                        : ids[i].Count >= rows[i].Stop.MaxNewTokens ? FinishReason.MaxTokens
                        : null;
                    if (reason is { } r)
                    {
                        reasons[i] = r;
                        delta += texts[i]?.Flush() ?? "";
                    }
                    else
                        continuing.Add(row);
                    if (delta.Length > 0)
                        onText?.Invoke(i, delta);
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
        return Results(ids, reasons);
    }

    /// <summary>
    /// Generates from model inputs as prepared for a forward pass (images included): one prefill of the whole batch,
    /// then the loop. What the parity checks against the reference's generate use. Rows of a batch may each have
    /// their own images, which the loop cannot drop with a finished row: several rows must stop together, by length.
    /// </summary>
    public static IReadOnlyList<GeneratedSequence> Generate(MllamaModel model, ModelInputs inputs, IReadOnlyList<SequenceSpec> rows,
        ITokenizer? tokenizer = null, LogitsObserver? observe = null)
    {
        if (rows.Count != inputs.InputIds.shape[0])
            throw new ArgumentException($"{rows.Count} sequence specs for a batch of {inputs.InputIds.shape[0]}");
        if (rows.Count > 1 && rows.Any(r => r.Stop.Eos.Count > 0 || r.Stop.NeedsText || r.Stop.MaxNewTokens != rows[0].Stop.MaxNewTokens))
            throw new ArgumentException("several rows generate together only to one common length (no EOS or stop strings)");
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        using var image = ImageContext.Create(model, inputs);
        using var cache = model.NewCache(rows.Count, inputs.Length + rows.Max(r => r.Stop.MaxNewTokens));
        var logits = model.Prefill(inputs.InputIds, cache, image?.Kv, image?.Prompt).select(1, 0);
        return Run(model, cache, logits, image?.Kv, image?.Continuation, rows, tokenizer, observe: observe);
    }

    private static Tensor Rows(Tensor logits, IReadOnlyList<int> rows)
    {
        using var index = tensor(rows.Select(r => (long)r).ToArray());
        var kept = logits.index_select(0, index.to(logits.device)).DetachFromDisposeScope();
        logits.Dispose();
        return kept;
    }

    private static IReadOnlyList<GeneratedSequence> Results(List<int>[] ids, FinishReason[] reasons) =>
        ids.Select((l, i) => new GeneratedSequence(l, reasons[i])).ToList();
}
