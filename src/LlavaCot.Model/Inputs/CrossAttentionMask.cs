using static TorchSharp.torch;

namespace LlavaCot.Model.Inputs;

/// <summary>
/// Which text tokens may attend to which image, from the positions of the image token, as HF 4.45's
/// <c>get_cross_attention_token_mask</c> and <c>convert_sparse_cross_attention_mask_to_dense</c> build it.
/// Tokens before the first image token see no image; the image token itself does.
/// </summary>
public static class CrossAttentionMask
{
    /// <summary>
    /// The sparse spans of one sequence, one per image token in order: a single image spans [p, -1); with several,
    /// each spans to the next image token and the last to the sequence length; consecutive image tokens all
    /// extend to the end of the last one's span in their run (HF's loop from the back).
    /// </summary>
    public static IReadOnlyList<ImageTokenSpan> TokenSpans(IReadOnlyList<int> ids, int imageTokenId)
    {
        var positions = new List<int>();
        for (var i = 0; i < ids.Count; i++)
        {
            if (ids[i] == imageTokenId)
                positions.Add(i);
        }
        if (positions.Count <= 1)
            return positions.Select(p => new ImageTokenSpan(p, -1)).ToList();
        var ends = new int[positions.Count];
        for (var k = 0; k < positions.Count; k++)
            ends[k] = k + 1 < positions.Count ? positions[k + 1] : ids.Count;
        var lastEnd = ends[^1];
        for (var k = positions.Count - 1; k >= 0; k--)
        {
            if (positions[k] == ends[k] - 1)
                ends[k] = lastEnd;
            lastEnd = ends[k];
        }
        return positions.Select((p, k) => new ImageTokenSpan(p, ends[k])).ToList();
    }

    /// <summary>
    /// The dense mask: int64 [B, L, maxImages, maxTiles], L the longest sequence, maxImages the most image tokens in
    /// one sequence; 1 at [b, start..end, image, ..tiles]. <paramref name="numTiles"/>[b][i] is the tile count of image
    /// i of sequence b; each sequence needs one entry per image token.
    /// </summary>
    public static Tensor Dense(IReadOnlyList<IReadOnlyList<int>> ids, int imageTokenId, IReadOnlyList<IReadOnlyList<int>> numTiles, int maxTiles) =>
        Dense(ids.Select(s => TokenSpans(s, imageTokenId)).ToList(), numTiles, maxTiles, ids.Count == 0 ? 0 : ids.Max(s => s.Count));

    /// <summary>The dense mask from sparse spans (an End of -1 means <paramref name="length"/>).</summary>
    public static Tensor Dense(IReadOnlyList<IReadOnlyList<ImageTokenSpan>> spans, IReadOnlyList<IReadOnlyList<int>> numTiles, int maxTiles, int length)
    {
        var batch = spans.Count;
        if (numTiles.Count != batch)
            throw new ArgumentException($"{numTiles.Count} tile lists for {batch} sequences", nameof(numTiles));
        var maxImages = batch == 0 ? 0 : spans.Max(s => s.Count);
        var mask = new long[batch * length * maxImages * maxTiles];
        for (var b = 0; b < batch; b++)
        {
            if (spans[b].Count != numTiles[b].Count)
                throw new ArgumentException(
                    $"sequence {b} has {spans[b].Count} image tokens but {numTiles[b].Count} images", nameof(numTiles));
            for (var img = 0; img < spans[b].Count; img++)
            {
                var tiles = numTiles[b][img];
                if (tiles < 0 || tiles > maxTiles)
                    throw new ArgumentOutOfRangeException(nameof(numTiles), $"image {img} of sequence {b} has {tiles} tiles; at most {maxTiles}");
                var (start, end) = spans[b][img];
                end = end == -1 ? length : Math.Min(end, length);
                for (var t = start; t < end; t++)
                    Array.Fill(mask, 1L, ((b * length + t) * maxImages + img) * maxTiles, tiles);
            }
        }
        return tensor(mask, [batch, length, maxImages, maxTiles], ScalarType.Int64);
    }
}
