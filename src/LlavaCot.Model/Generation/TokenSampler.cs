using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>
/// Picks one token per row of logits [N, vocab]: argmax when greedy, else a draw from the warped distribution
/// using that row's own uniform source, so each sequence's randomness is independent of how rows are batched.
/// </summary>
public static class TokenSampler
{
    /// <param name="settings">Each row's settings; rows that share settings are warped together.</param>
    /// <param name="uniforms">One source of uniform numbers in [0, 1) per row.</param>
    public static long[] Sample(Tensor logits, IReadOnlyList<SamplingOptions> settings, IReadOnlyList<Func<double>> uniforms)
    {
        if (uniforms.Count != logits.shape[0] || settings.Count != logits.shape[0])
            throw new ArgumentException($"{settings.Count} settings and {uniforms.Count} random sources for {logits.shape[0]} rows");
        if (settings.Distinct().Count() == 1)
            return Sample(logits, settings[0], uniforms);
        using var scope = NewDisposeScope();
        var result = new long[uniforms.Count];
        foreach (var group in Enumerable.Range(0, settings.Count).GroupBy(i => settings[i]))
        {
            var rows = group.ToList();
            using var index = tensor(rows.Select(r => (long)r).ToArray());
            var drawn = Sample(logits.index_select(0, index.to(logits.device)), group.Key, rows.Select(r => uniforms[r]).ToList());
            for (var k = 0; k < rows.Count; k++)
                result[rows[k]] = drawn[k];
        }
        return result;
    }

    /// <param name="uniforms">One source of uniform numbers in [0, 1) per row.</param>
    public static long[] Sample(Tensor logits, SamplingOptions settings, IReadOnlyList<Func<double>> uniforms)
    {
        if (uniforms.Count != logits.shape[0])
            throw new ArgumentException($"{uniforms.Count} random sources for {logits.shape[0]} rows");
        using var scope = NewDisposeScope();
        if (settings.IsGreedy)
            return logits.argmax(-1).cpu().data<long>().ToArray();
        var probs = LogitsWarper.Probabilities(logits, settings).cpu().contiguous();
        var vocab = (int)probs.shape[^1];
        // The probabilities where libtorch keeps them: no copy of rows × vocab floats.
        var all = MemoryMarshal.Cast<byte, float>(probs.bytes);
        var result = new long[uniforms.Count];
        for (var row = 0; row < result.Length; row++)
            result[row] = Draw(all.Slice(row * vocab, vocab), uniforms[row]());
        return result;
    }

    /// <summary>Inverse-CDF draw over probabilities in index order (the last token with mass if rounding runs out).</summary>
    private static long Draw(ReadOnlySpan<float> p, double u)
    {
        double total = 0;
        foreach (var x in p)
            total += x;
        var target = u * total;
        double cumulative = 0;
        var last = -1;
        for (var i = 0; i < p.Length; i++)
        {
            if (p[i] <= 0)
                continue;
            cumulative += p[i];
            last = i;
            if (cumulative > target)
                return i;
        }
        return last;
    }
}
