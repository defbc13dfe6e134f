using LlavaCot.Model.Config;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Vision;

/// <summary>Non-overlapping patch × patch convolution without bias: one token per patch.</summary>
public sealed class PatchEmbedding : nn.Module
{
    private readonly Parameter weight;
    private readonly long _stride;

    public PatchEmbedding(WeightScope w, MllamaVisionConfig c) : base(nameof(PatchEmbedding))
    {
        weight = w.Param("weight", c.HiddenSize, c.NumChannels, c.PatchSize, c.PatchSize);
        _stride = c.PatchSize;
        RegisterComponents();
    }

    /// <summary>[N, C, S, S] → [N, D, S/patch, S/patch].</summary>
    public Tensor Forward(Tensor pixels) => nn.functional.conv2d(pixels, weight, strides: [_stride, _stride]);
}
