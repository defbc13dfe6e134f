using static TorchSharp.torch;

namespace LlavaCot.Model.Inputs;

/// <summary>
/// The tensors one forward pass of the model takes, as HF's MllamaProcessor returns them. Image fields are
/// null for text-only input. The instance owns its tensors.
/// </summary>
public sealed class ModelInputs(
    Tensor inputIds,
    Tensor? pixelValues = null,
    Tensor? aspectRatioIds = null,
    Tensor? aspectRatioMask = null,
    Tensor? crossAttentionMask = null) : IDisposable
{
    /// <summary>[B, L] int64.</summary>
    public Tensor InputIds { get; } = inputIds;

    /// <summary>[B, images, tiles, C, S, S] float32.</summary>
    public Tensor? PixelValues { get; } = pixelValues;

    /// <summary>[B, images] int64; 0 marks a missing image.</summary>
    public Tensor? AspectRatioIds { get; } = aspectRatioIds;

    /// <summary>[B, images, tiles] int64.</summary>
    public Tensor? AspectRatioMask { get; } = aspectRatioMask;

    /// <summary>Dense 0/1 [B, L, images, tiles] int64, from the image token positions.</summary>
    public Tensor? CrossAttentionMask { get; } = crossAttentionMask;

    public bool HasImages => PixelValues is not null;

    public long Length => InputIds.shape[1];

    public void Dispose()
    {
        InputIds.Dispose();
        PixelValues?.Dispose();
        AspectRatioIds?.Dispose();
        AspectRatioMask?.Dispose();
        CrossAttentionMask?.Dispose();
    }
}
