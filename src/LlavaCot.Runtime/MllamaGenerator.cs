using LlavaCot.Model;
using LlavaCot.Model.Config;
using LlavaCot.Model.Generation;
using LlavaCot.Model.Inputs;
using LlavaCot.Reasoning;

namespace LlavaCot.Runtime;

/// <summary>The model behind the reasoning engine's port: sessions whose tensor work runs on the model worker.</summary>
/// <param name="cpuFeatures">The CPU flags results depend on (recorded with each result for replay).</param>
public sealed class MllamaGenerator(MllamaModel model, ModelInputsBuilder inputs, GenerationConfig generation,
    ModelWorker worker, RuntimeOptions options, string cpuFeatures) : ITextGenerator
{
    /// <summary>The model's shared work: both cache budgets come from one reading of the memory available now, after the weights are loaded.</summary>
    public Engine Engine { get; } = Create(model, inputs, options, options.Host().AvailableMemoryBytes);

    private static Engine Create(MllamaModel model, ModelInputsBuilder inputs, RuntimeOptions options, long? available) =>
        new(model, new ImageFeatureCache(options.ImageCacheBudget(available)), new PrefixCache(model, options.PrefixCacheBudget(available)), inputs)
        {
            ChunkTokens = options.PrefillChunkTokens,
        };

    /// <summary>Image features of recent images, so a second question about one skips the vision tower.</summary>
    public ImageFeatureCache ImageCache => Engine.Images;

    /// <summary>Keys and values of recent prompts, so a prompt prefills only what no cached one shares with it.</summary>
    public PrefixCache PrefixCache => Engine.Prefixes;

    /// <summary>Empties both shared caches of what no running request uses (on the worker).</summary>
    public void ClearCaches()
    {
        worker.ThrowIfNotCurrent();
        ImageCache.Clear();
        PrefixCache.Clear();
    }

    /// <summary>
    /// Prompt tokens per prefill chunk for work started from now on (0: whole prompts, and each image encoded in one
    /// step); from <see cref="RuntimeOptions.PrefillChunkTokens"/>, changed by benchmarks that compare both.
    /// </summary>
    public int PrefillChunkTokens
    {
        get => Engine.ChunkTokens;
        set => Engine.ChunkTokens = value;
    }

    /// <summary>
    /// The same model behind a generator of its own whose image and prefix caches are 0: every session encodes its image
    /// and prefills its prompts from nothing (the reference's call pattern, for benchmarks and equivalence tests).
    /// </summary>
    public MllamaGenerator WithoutCaches() =>
        new(model, inputs, generation, worker, options with { ImageCacheBytes = 0, PrefixCacheBytes = 0 }, cpuFeatures)
        {
            PrefillChunkTokens = PrefillChunkTokens,
        };

    public MllamaModel Model => model;
    public ModelInputsBuilder Inputs => inputs;
    public ModelWorker Worker => worker;
    public RuntimeOptions Options => options;
    public string CpuFeatures => cpuFeatures;

    /// <summary>Ids that end a generation: the generation config's, else the text config's.</summary>
    public IReadOnlySet<int> Eos { get; } =
        (generation.EosTokenIds.Length > 0 ? generation.EosTokenIds : model.Config.Text.EosTokenIds).ToHashSet();

    /// <summary>
    /// The engine's description of one sequence from the port's terms: its settings, its own seeded uniform source,
    /// and its stop rule (the model's EOS ids unless the request ignores them); <paramref name="topLogProbs"/>: record
    /// log-probabilities with that many alternatives (null: none).
    /// </summary>
    internal SequenceSpec Spec(StopCondition stop, SamplingOptions sampling, ulong seed, string promptText, bool skipSpecialTokens,
        int? topLogProbs = null) =>
        new(sampling, new SeedStream(seed).NextDouble, StopRule.Of(stop, Eos), promptText, skipSpecialTokens, topLogProbs);

    /// <summary>
    /// Decodes and checks an image (the configured limits), and hashes it for the image cache, off the model thread: the
    /// server does this before admission, so a bad upload gets its answer without waiting in the queue.
    /// </summary>
    /// <exception cref="ImageDecodeException">The bytes are not an image this server takes.</exception>
    public PreparedImage Prepare(ReadOnlyMemory<byte> bytes)
    {
        var image = ImageDecoder.Decode(bytes.Span, options.ImageLimits);
        return new DecodedImage(image, ImageFeatureCache.Key(image));
    }

    /// <summary>A decoded, checked image and its cache key.</summary>
    private sealed class DecodedImage(RgbImage image, string key) : PreparedImage
    {
        public RgbImage Image { get; } = image;
        public string Key { get; } = key;
    }

    public async Task<IGenerationSession> OpenSessionAsync(SessionRequest request, CancellationToken cancellationToken)
    {
        // Decoded before the session reaches the model thread (by the server before admission, else here).
        var decoded = request.Image is not { } bytes ? null : request.Prepared as DecodedImage ?? (DecodedImage)Prepare(bytes);
        var (image, key) = (decoded?.Image, decoded?.Key);
        // Fixed once per request, so every text-only prompt of a search carries the same date, even across midnight.
        var date = request.Date ?? options.Date ?? inputs.Today;
        return await MllamaSession.OpenAsync(this, image, key, AnswerPrompt(request, image is not null, date), date, cancellationToken);
    }

    /// <summary>
    /// The answer's prompt: the question alone, as LLaVA-CoT asks it, or the conversation that led to it with the
    /// question as its last user turn (holding the image unless an earlier turn showed it).
    /// </summary>
    private IReadOnlyList<PromptSegment> AnswerPrompt(SessionRequest request, bool withImage, DateOnly date)
    {
        if (request.History.Count == 0)
            return Inputs.Prompt(request.Question, withImage, date);
        var imageAsked = withImage && !request.History.Any(t => t.Image);
        var turns = request.History.Select(t => new ChatTurn(t.Role, t.Text, t.Image)).Append(new ChatTurn("user", request.Question, imageAsked));
        return ChatTemplate.Conversation(turns.ToList(), date);
    }
}
