using static TorchSharp.torch;

namespace LlavaCot.Model.Inputs;

/// <summary>
/// The processor's output for a batch of samples with several images each, shaped like HF's BatchFeature:
/// <c>pixel_values</c> float32 [B, M, T, 3, tile, tile], <c>aspect_ratio_ids</c> int64 [B, M],
/// <c>aspect_ratio_mask</c> int64 [B, M, T] and <c>num_tiles</c> int64 [B, M] (M = most images in a sample,
/// T = max tiles). The caller owns the tensors; dispose the batch to free them.
/// </summary>
public sealed record ImageBatch(
    Tensor PixelValues,
    Tensor AspectRatioIds,
    Tensor AspectRatioMask,
    Tensor NumTiles,
    IReadOnlyList<IReadOnlyList<ImageTiles>> Images) : IDisposable
{
    public void Dispose()
    {
        PixelValues.Dispose();
        AspectRatioIds.Dispose();
        AspectRatioMask.Dispose();
        NumTiles.Dispose();
    }
}
