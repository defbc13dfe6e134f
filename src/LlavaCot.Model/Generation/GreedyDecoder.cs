using LlavaCot.Model.Inputs;
using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>Greedy decoding with the KV cache: prefill the prompt once, then one cached step per token.</summary>
public static class GreedyDecoder
{
    /// <summary>New ids [B, steps] and each step's logits [steps, B, vocab] (step 0 = the prompt's last position).</summary>
    public sealed record Result(long[][] NewIds, Tensor StepLogits) : IDisposable
    {
        public void Dispose() => StepLogits.Dispose();
    }

    /// <summary>Stops after <paramref name="maxNewTokens"/> or when every sequence has produced an id in <paramref name="eos"/>.</summary>
    public static Result Generate(MllamaModel model, ModelInputs inputs, int maxNewTokens, IReadOnlyCollection<long>? eos = null)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        var batch = inputs.InputIds.shape[0];
        using var image = ImageContext.Create(model, inputs);
        using var cache = model.NewCache(batch, inputs.Length + maxNewTokens);
        var logits = model.Prefill(inputs.InputIds, cache, image?.Kv, image?.Prompt);
        var ids = Enumerable.Range(0, (int)batch).Select(_ => new List<long>()).ToArray();
        var done = new bool[batch];
        var stepLogits = new List<Tensor>();
        for (var step = 0; step < maxNewTokens && !done.All(d => d); step++)
        {
            var last = logits.select(1, 0);
            stepLogits.Add(last);
            var next = last.argmax(-1);
            var chosen = next.data<long>().ToArray();
            for (var b = 0; b < batch; b++)
            {
                if (done[b])
                    continue;
                ids[b].Add(chosen[b]);
                done[b] = eos?.Contains(chosen[b]) == true;
            }
            if (step + 1 < maxNewTokens && !done.All(d => d))
                logits = model.Decode(next.unsqueeze(1), cache, image?.Kv, image?.Continuation);
        }
        var stacked = stack(stepLogits).MoveToOuterDisposeScope();
        return new Result(ids.Select(l => l.ToArray()).ToArray(), stacked);
    }
}
