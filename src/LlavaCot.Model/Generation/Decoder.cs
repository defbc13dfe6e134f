using LlavaCot.Model.Inputs;
using LlavaCot.Model.Text;
using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>
/// The decode loop of one request on its own: its <see cref="DecodeJob"/> stepped until every row has finished,
/// checking cancellation every step. (<see cref="StepScheduler"/> steps the jobs of many requests together.)
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
        using var job = new DecodeJob(model, cache, firstLogits, kv, continuation, rows, tokenizer, onText, observe);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (job.Step() is not { } next)
                break;
            using var scope = NewDisposeScope();
            using var ids = next.Ids;
            job.Receive(model.Decode([next]).select(1, 0));
        }
        return job.Results;
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
}
