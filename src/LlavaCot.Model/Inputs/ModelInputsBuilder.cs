using LlavaCot.Model.Config;
using static TorchSharp.torch;

namespace LlavaCot.Model.Inputs;

/// <summary>
/// From what a user sends to what the model takes (HF's MllamaProcessor for the LLaVA-CoT prompt): the chat
/// template rendered and encoded (user text never yields special ids), the images processed into tiles, and the
/// cross-attention mask from the image token positions.
/// </summary>
public sealed class ModelInputsBuilder(ITokenizer tokenizer, MllamaImageProcessor images, MllamaConfig config, TimeProvider? clock = null)
{
    public ITokenizer Tokenizer => tokenizer;
    public MllamaImageProcessor Images => images;
    public MllamaConfig Config => config;

    /// <summary>The tokenizer and image processor of a model folder.</summary>
    public static ModelInputsBuilder Load(string modelDir, MllamaConfig? config = null, TimeProvider? clock = null)
    {
        config ??= MllamaConfig.Load(modelDir);
        return new ModelInputsBuilder(TokenizerLoader.Load(modelDir, config),
            new MllamaImageProcessor(PreprocessorConfig.Load(modelDir)), config, clock);
    }

    /// <summary>The LLaVA-CoT prompt: image token then question, or the text-only variant dated <paramref name="date"/> (default today).</summary>
    public IReadOnlyList<PromptSegment> Prompt(string question, bool withImage, DateOnly? date = null) =>
        withImage ? ChatTemplate.ImagePrompt(question) : ChatTemplate.TextPrompt(question, date ?? Today);

    /// <summary>Today's local date, as the reference's <c>strftime_now</c> gives it.</summary>
    public DateOnly Today => DateOnly.FromDateTime((clock ?? TimeProvider.System).GetLocalNow().DateTime);

    /// <summary>A question about an image (or none): chat template, image tiles, cross-attention mask.</summary>
    public ModelInputs ForQuestion(RgbImage? image, string question) =>
        Build(image is null ? [] : [image], Prompt(question, image is not null));

    /// <summary>
    /// A prompt given as segments (e.g. a fixture's raw <c>prompt_segments</c>) with its images in order; the
    /// prompt must hold one image token per image.
    /// </summary>
    public ModelInputs Build(IReadOnlyList<RgbImage> imageList, IReadOnlyList<PromptSegment> segments)
    {
        var ids = tokenizer.Encode(segments);
        if (imageList.Count == 0)
            return FromIds(ids, null);
        var batch = images.Process([imageList]);
        try
        {
            return FromIds(ids, batch);
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Inputs for given ids and already processed images (like the reference's patched processor, which takes
    /// ids directly); the inputs take ownership of the image tensors.
    /// </summary>
    public ModelInputs FromIds(IReadOnlyList<int> ids, ImageBatch? batch)
    {
        var idTensor = tensor(ids.Select(i => (long)i).ToArray()).view(1, -1);
        if (batch is null)
        {
            if (ids.Contains(config.ImageTokenIndex))
                throw new ArgumentException("the prompt holds an image token but no image was given");
            return new ModelInputs(idTensor);
        }
        var mask = DenseMask(ids, batch.Images[0].Select(t => t.NumTiles).ToList());
        batch.NumTiles.Dispose();
        return new ModelInputs(idTensor, batch.PixelValues, batch.AspectRatioIds, batch.AspectRatioMask, mask);
    }

    /// <summary>The dense cross-attention mask [1, L, images, tiles] for one sequence.</summary>
    public Tensor DenseMask(IReadOnlyList<int> ids, IReadOnlyList<int> numTiles) =>
        CrossAttentionMask.Dense([ids], config.ImageTokenIndex, [numTiles], images.MaxTiles);
}
