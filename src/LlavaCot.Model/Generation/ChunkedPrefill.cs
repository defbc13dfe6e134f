using LlavaCot.Model.Text;
using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>What a chunked prefill leaves: the last position's logits and the cross-attention row of the tokens after it.</summary>
public sealed class PrefillResult
{
    /// <summary>[1, vocab], in the dispose scope of the slice that ran the last chunk: use it within that slice.</summary>
    public Tensor? Logits { get; set; }

    /// <summary>The last prompt row (every later token uses it), owned by the caller; null without an image.</summary>
    public CrossAttentionBias? Continuation { get; set; }
}

/// <summary>
/// A prompt's prefill in chunks, one per scheduler slice, so that running searches decode between them. Chunk ends are
/// multiples of the chunk size counted from the prompt's start, so they depend on the prompt alone (and on the prefix
/// found cached, as a whole prefill does), never on what else is running. A chunk may round differently from a whole
/// prefill (libtorch's GEMM blocks by row count); chunk size 0 prefills what is left in one call.
/// </summary>
public static class ChunkedPrefill
{
    /// <summary>The chunks [start, end) that prefill positions <paramref name="from"/>..<paramref name="count"/>.</summary>
    public static IReadOnlyList<(int Start, int End)> Chunks(int from, int count, int chunk)
    {
        var chunks = new List<(int, int)>();
        for (var start = from; start < count;)
        {
            var end = chunk <= 0 ? count : Math.Min(count, (start / chunk + 1) * chunk);
            chunks.Add((start, end));
            start = end;
        }
        return chunks;
    }

    /// <summary>
    /// Prefills <paramref name="ids"/>[from..] into <paramref name="cache"/> (which holds the positions before), a chunk
    /// per step of the enumeration. <paramref name="rows"/> gives the cross-attention rows of positions [start, end)
    /// (null without an image). Only the last chunk runs the output head, and only with <paramref name="logits"/>.
    /// </summary>
    public static IEnumerable<int> Run(MllamaModel model, IReadOnlyList<int> ids, int from, KvCache cache, CrossAttentionCache? kv,
        Func<int, int, CrossAttentionBias?> rows, int chunk, PrefillResult result, bool logits = true)
    {
        var chunks = Chunks(from, ids.Count, chunk);
        for (var k = 0; k < chunks.Count; k++)
        {
            var (start, end) = chunks[k];
            using (var bias = rows(start, end))
            {
                var chunkIds = tensor(ids.Skip(start).Take(end - start).Select(i => (long)i).ToArray()).view(1, -1);
                var last = k == chunks.Count - 1;
                if (last && logits)
                    result.Logits = model.Prefill(chunkIds, cache, kv, bias).select(1, 0);
                else
                    model.Fill(chunkIds, cache, kv, bias);
                if (last)
                {
                    result.Continuation = bias?.LastRow();
                    yield break;
                }
            }
            yield return end - start;
        }
    }
}
