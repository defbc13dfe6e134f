using LlavaCot.Model;
using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Reasoning;

namespace LlavaCot.Runtime;

/// <summary>The model behind the reasoning engine's port: sessions whose tensor work runs on the model worker.</summary>
/// <param name="cpuFeatures">The CPU flags results depend on (recorded with each result for replay).</param>
public sealed class MllamaGenerator(MllamaModel model, ModelInputsBuilder inputs, GenerationConfig generation,
    ModelWorker worker, RuntimeOptions options, string cpuFeatures) : ITextGenerator
{
    /// <summary>
    /// Image features shared by the requests on this model (used on the worker only); its budget comes from the memory
    /// available now, after the weights are loaded.
    /// </summary>
    public ImageFeatureCache ImageCache { get; } = new(options.ImageCacheBudget(options.Host().AvailableMemoryBytes));

    public MllamaModel Model => model;
    public ModelInputsBuilder Inputs => inputs;
    public ModelWorker Worker => worker;
    public RuntimeOptions Options => options;
    public string CpuFeatures => cpuFeatures;

    /// <summary>Ids that end a generation: the generation config's, else the text config's.</summary>
    public IReadOnlySet<int> Eos { get; } =
        (generation.EosTokenIds.Length > 0 ? generation.EosTokenIds : model.Config.Text.EosTokenIds).ToHashSet();

    public async Task<IGenerationSession> OpenSessionAsync(SessionRequest request, CancellationToken cancellationToken)
    {
        // Decoding runs before the session reaches the model thread, so a bad image fails without queueing.
        var image = request.Image is { } bytes ? ImageDecoder.Decode(bytes.Span, options.ImageLimits) : null;
        // Hashed off the model thread too: the worker only looks the key up.
        var key = image is null || request.Naive ? null : ImageFeatureCache.Key(image);
        // Fixed once per request, so every text-only prompt of a search carries the same date, even across midnight.
        var date = request.Date ?? options.Date ?? inputs.Today;
        return await worker.RunAsync<IGenerationSession>(
            () => new MllamaSession(this, image, key, request.Question, request.Naive, date), cancellationToken);
    }
}
