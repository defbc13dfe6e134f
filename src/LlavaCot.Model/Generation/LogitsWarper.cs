using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>
/// HF 4.45's TemperatureLogitsWarper → TopKLogitsWarper → TopPLogitsWarper (min_tokens_to_keep = 1) on fp32
/// logits [N, vocab]; removed tokens get -inf. A warper that would be a no-op is skipped, as HF does.
/// </summary>
public static class LogitsWarper
{
    public static Tensor Warp(Tensor logits, SamplingOptions s)
    {
        using var scope = NewDisposeScope();
        var scores = logits.to(ScalarType.Float32);
        if (s.Temperature != 1.0)
        {
            // A request's own value: held for the call, not kept (Scalars keeps only the model's constants).
            using Scalar temperature = s.Temperature;
            scores = scores.div(temperature);
        }
        if (s.TopK > 0)
        {
            // Ties with the k-th largest all stay.
            var k = (int)Math.Min(s.TopK, scores.shape[^1]);
            var kth = scores.topk(k).values.narrow(-1, k - 1, 1);
            scores = scores.masked_fill(scores.lt(kth), Layers.Scalars.Of(double.NegativeInfinity));
        }
        if (s.TopP < 1.0)
            scores = TopP(scores, s.TopP);
        return scores.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// HF's top-p on [N, vocab] scores. Sorting dominated a sampling step (12 ms a row over a 128k vocabulary with
    /// libtorch's sort), so the values are sorted by <see cref="FloatRadixSort"/> and every token at or above the
    /// smallest value the nucleus keeps stays: the same sorted values, cumulative mass and cut as HF's, hence the same
    /// tokens, whenever no tie straddles the cut. When one does, which of the tied tokens HF keeps depends on its
    /// sort's order, so such rows take libtorch's sort as HF does (bf16 logits tie often: a near-flat distribution,
    /// as from random weights, then gains nothing); so do scores holding NaN.
    /// </summary>
    private static unsafe Tensor TopP(Tensor scores, double topP)
    {
        if (scores.dim() != 2)
            return TopP(scores.reshape(-1, scores.shape[^1]), topP).view(scores.shape);
        var (rows, vocab) = ((int)scores.shape[0], (int)scores.shape[^1]);
        using var nan = scores.isnan().any();
        if (nan.item<bool>())
            return TopPBySort(scores, topP);
        // Not disposed here: on the CPU this may be the caller's own tensor; Warp's dispose scope frees a copy.
        var values = scores.contiguous().cpu();
        using var sorted = empty([rows, vocab], ScalarType.Float32);
        var (from, to) = (TensorMemory.Address(values), TensorMemory.Address(sorted));
        Parallel.For(0, rows, r => FloatRadixSort.Ascending(
            new ReadOnlySpan<float>((float*)from + (long)r * vocab, vocab), new Span<float>((float*)to + (long)r * vocab, vocab)));
        var removed = RemovedCounts(sorted.to(scores.device), topP);
        var ascending = MemoryMarshal.Cast<byte, float>(sorted.bytes);
        var cut = new float[rows];
        var tiedAtCut = new List<int>();
        for (var r = 0; r < rows; r++)
        {
            var first = r * vocab + (int)removed[r];
            cut[r] = ascending[first];
            if (removed[r] > 0 && ascending[first - 1] == ascending[first])
            {
                tiedAtCut.Add(r);
                cut[r] = float.NegativeInfinity;
            }
        }
        using var cuts = tensor(cut, [rows, 1]).to(scores.device);
        var kept = scores.masked_fill(scores.lt(cuts), Layers.Scalars.Of(double.NegativeInfinity));
        if (tiedAtCut.Count > 0)
        {
            // One sort call for all of them: libtorch sorts the rows of a batch in parallel, each as it would alone.
            var tied = tensor(tiedAtCut.Select(r => (long)r).ToArray()).to(scores.device);
            kept.index_copy_(0, tied, TopPBySort(scores.index_select(0, tied), topP));
        }
        return kept;
    }

    /// <summary>HF's top-p as written: tokens sorted ascending by libtorch, the low tail removed through the sort's order.</summary>
    private static Tensor TopPBySort(Tensor scores, double topP)
    {
        var (sorted, order) = scores.sort(-1, descending: false);
        var remove = RemoveMask(sorted, topP);
        return scores.masked_fill(remove.scatter(-1, order, remove), Layers.Scalars.Of(double.NegativeInfinity));
    }

    /// <summary>Per row of ascending scores, how many of the lowest HF removes.</summary>
    private static long[] RemovedCounts(Tensor sorted, double topP)
    {
        using var scope = NewDisposeScope();
        return RemoveMask(sorted, topP).sum(-1, type: ScalarType.Int64).cpu().data<long>().ToArray();
    }

    /// <summary>Over ascending scores: the low tail whose mass is at most 1 - top_p; the most likely token always stays.</summary>
    private static Tensor RemoveMask(Tensor sorted, double topP)
    {
        using Scalar tail = 1 - topP;
        var remove = sorted.softmax(-1).cumsum(-1).le(tail);
        remove.narrow(-1, remove.shape[^1] - 1, 1).fill_(false);
        return remove;
    }

    /// <summary>The distribution sampled from: softmax of the warped scores (0 for removed tokens).</summary>
    public static Tensor Probabilities(Tensor logits, SamplingOptions s)
    {
        using var scope = NewDisposeScope();
        return Warp(logits, s).softmax(-1).MoveToOuterDisposeScope();
    }
}
