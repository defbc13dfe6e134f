using LlavaCot.Model.Inputs;
using LlavaCot.Model.Text;
using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>
/// The image side of a request, computed once: cross-attention keys/values of every cross layer, the mask
/// rows of the prompt, and the row every later token uses (a copy of the prompt's last row, as HF does).
/// </summary>
public sealed class ImageContext : IDisposable
{
    public CrossAttentionCache Kv { get; }
    public CrossAttentionBias Prompt { get; }
    public CrossAttentionBias Continuation { get; }

    private ImageContext(CrossAttentionCache kv, CrossAttentionBias prompt)
    {
        Kv = kv;
        Prompt = prompt;
        Continuation = prompt.LastRow();
    }

    /// <summary>Runs the vision tower and projector on the inputs' images; null for text-only inputs.</summary>
    public static ImageContext? Create(MllamaModel model, ModelInputs inputs, ForwardTrace? trace = null)
    {
        if (!inputs.HasImages)
            return null;
        if (inputs.CrossAttentionMask is null || inputs.AspectRatioIds is null || inputs.AspectRatioMask is null)
            throw new ArgumentException("image inputs need aspect ratio ids, aspect ratio mask and a cross-attention mask");
        var kv = Encode(model, inputs.PixelValues!, inputs.AspectRatioIds, inputs.AspectRatioMask, trace);
        using var scope = NewDisposeScope();
        var prompt = CrossAttentionBias.FromDense(inputs.CrossAttentionMask, model.Config.Vision.TokensPerTile, model.DType, model.Device);
        trace?.Record("cross_attention_mask_4d", prompt.Additive);
        trace?.Record("full_text_row_masked_out_mask", prompt.RowMask);
        return new ImageContext(kv, prompt);
    }

    /// <summary>Vision tower, projector and every cross layer's keys and values for one set of images.</summary>
    public static CrossAttentionCache Encode(MllamaModel model, Tensor pixelValues, Tensor aspectRatioIds, Tensor aspectRatioMask,
        ForwardTrace? trace = null)
    {
        if (trace is null)
            return model.EncodeSteps(pixelValues, aspectRatioIds, aspectRatioMask).Last()!;
        using var scope = NewDisposeScope();
        var states = model.EncodeImages(pixelValues, aspectRatioIds, aspectRatioMask, trace);
        return model.PrecomputeCrossAttention(states);
    }

    public void Dispose()
    {
        Kv.Dispose();
        Prompt.Dispose();
        Continuation.Dispose();
    }
}
