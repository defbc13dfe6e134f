using System.Diagnostics;
using LlavaCot.Model;
using LlavaCot.Model.Config;
using LlavaCot.Model.Generation;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.Layers;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Runtime;
using static TorchSharp.torch;

namespace LlavaCot.Cli.Bench;

/// <summary>
/// The fixed search workload of <c>llavacot bench search</c> on a random-weight model: one 4-tile image, a 64-token
/// prompt, stage candidates of exactly 64 tokens and judge replies of exactly 24.
/// </summary>
public sealed class SearchBench : IDisposable
{
    public const int PromptTokens = 64;
    public const int CandidateTokens = 64;
    public const int JudgeTokens = 24;
    private const ulong SearchSeed = 20241122;

    private readonly ModelHost _host;
    private readonly Reasoner _reasoner;
    private readonly Reasoner _instant;
    private readonly Reasoner _reference;
    private readonly byte[] _image;
    private readonly int _side;

    public string Question { get; }
    public string TokenizerName { get; }
    public ScalarType DType { get; }
    public MllamaModel Model => _host.Model;
    public ModelWorker Worker => _host.Worker;

    /// <param name="uncached">The same model with image and prefix caches of 0, for the reference pattern.</param>
    private SearchBench(ModelHost host, ITextGenerator uncached, int side, string question, string tokenizerName, ScalarType dtype)
    {
        (_host, _side, Question, TokenizerName, DType) = (host, side, question, tokenizerName, dtype);
        _image = Image(0);
        var workload = new FixedLengthWorkload(host.Generator, CandidateTokens, JudgeTokens);
        _reasoner = new Reasoner(workload, host.Reasoner.Settings);
        _instant = new Reasoner(new InstantScorer(workload), host.Reasoner.Settings);
        _reference = new Reasoner(new FixedLengthWorkload(new ReferencePattern(uncached), CandidateTokens, JudgeTokens), host.Reasoner.Settings);
    }

    /// <param name="quantize">The text decoder's and projector's linear weights quantized, as <c>--quantize</c> serves them.</param>
    public static async Task<SearchBench> CreateAsync(string configDir, ScalarType dtype, string? tokenizerDir, Quantization quantize = Quantization.None)
    {
        TorchNative.Initialize();
        var config = MllamaConfig.Load(configDir);
        var (tokenizer, name) = LoadTokenizer(config, tokenizerDir);
        var preprocessor = new MllamaImageProcessor(PreprocessorConfig.Load(configDir));
        var generation = File.Exists(Path.Combine(configDir, GenerationConfig.FileName))
            ? GenerationConfig.Load(configDir)
            : new GenerationConfig { EosTokenIds = config.Text.EosTokenIds };
        var worker = new ModelWorker();
        var model = await worker.RunAsync(() =>
        {
            IWeightSource weights = new RandomWeights(1234, dtype, CPU);
            return MllamaModel.Create(config, quantize == Quantization.None ? weights : new Quantizing(weights, quantize), dtype, CPU);
        });
        var inputs = new ModelInputsBuilder(tokenizer, preprocessor, config);
        var options = new RuntimeOptions { ModelDirectory = configDir, Device = "cpu", DType = dtype.ToString() };
        var host = ModelHost.Create(options, model, worker, inputs, generation);
        var uncached = host.Generator.WithoutCaches();
        // A square image at least two tiles a side: the 2×2 grid, 4 tiles (the photo generator wants some size).
        var side = Math.Max(preprocessor.TileSize * 2, 640);
        return new SearchBench(host, uncached, side, SizedQuestion(inputs), name, dtype);
    }

    /// <summary>
    /// The bench a command names (config folder, default the shared bench config; --dtype, default bf16; --quantize;
    /// --tokenizer), after printing what it runs on.
    /// </summary>
    public static async Task<SearchBench> FromArgsAsync(CommandArgs args, TextWriter o)
    {
        var dir = args.Positional.Count > 0 ? args.Positional[0] : BenchPaths.SharedFixture("mllama-bench-config");
        var dtype = TorchSettings.ParseDType(args.Option("dtype") ?? "bf16");
        var quantize = args.Quantization();
        var bench = await CreateAsync(dir, dtype, args.Option("tokenizer"), quantize);
        o.WriteLine($"config: {Path.GetFullPath(dir)}, {dtype}{(quantize == Quantization.None ? "" : $" with {QuantizationText.Name(quantize)} linear weights")}, " +
                    $"{Environment.ProcessorCount} cores, random weights");
        o.WriteLine($"tokenizer: {bench.TokenizerName}");
        if (!bench.TokenizerName.StartsWith(Llama3Name, StringComparison.Ordinal))
            o.WriteLine("note: text is tokenized byte by byte, so judge prompts are several times longer than with the Llama 3 " +
                        "tokenizer: these figures are not comparable to the README's");
        o.WriteLine($"cpu flags: {HostFacts.Read().CpuFeatures}");
        return bench;
    }

    private const string Llama3Name = "llama3";

    /// <summary>The real Llama 3 tokenizer when the shared fixtures have it (judge prompts then have their real length), else bytes.</summary>
    private static (ITokenizer, string) LoadTokenizer(MllamaConfig config, string? dir)
    {
        dir ??= BenchPaths.OptionalSharedFixture("llama3-tokenizer");
        // The real tokenizer fits only a model with the real vocabulary; tiny test configs get bytes.
        if (dir is not null && config.Text.VocabSize >= Llama3Tokenizer.Load(dir).VocabularySize)
            return (Llama3Tokenizer.Load(dir, config.ImageTokenIndex), $"{Llama3Name} ({Path.GetFullPath(dir)})");
        var bos = config.Text.BosTokenId ?? 0;
        var specials = new Dictionary<string, int>
        {
            ["<|begin_of_text|>"] = bos, ["<|image|>"] = config.ImageTokenIndex,
        };
        var why = dir is null
            ? "no Llama 3 tokenizer found: ../shared/fixtures/llama3-tokenizer or --tokenizer DIR"
            : "the config's vocabulary is smaller than the Llama 3 tokenizer's";
        return (new ByteTokenizer(specials), $"byte-level ({why})");
    }

    /// <summary>Words appended until the rendered image prompt is <see cref="PromptTokens"/> tokens.</summary>
    private static string SizedQuestion(ModelInputsBuilder inputs)
    {
        string[] words = ["how", "many", "red", "boxes", "are", "on", "the", "left", "shelf", "and", "what", "colour", "is", "the", "lamp"];
        var question = "Question:";
        for (var i = 0; inputs.Tokenizer.Encode(inputs.Prompt(question, true)).Count < PromptTokens; i++)
            question += " " + words[i % words.Length];
        return question;
    }

    /// <summary>The bench image number <paramref name="index"/>: the same size (4 tiles), different content.</summary>
    public byte[] Image(int index) => SyntheticPhoto.Jpeg(_side, _side, 7 + index, 90);

    public ReasonRequest Request(int n, ScorerKind scorer = ScorerKind.Pairwise, ReasoningMode mode = ReasoningMode.StageBeam) =>
        new($"bench-{n}", _image, Question, new ReasonOptions
        {
            Mode = mode, BeamSize = n, Seed = SearchSeed, Scorer = scorer,
        });

    /// <summary>Search number <paramref name="index"/> of a serving workload: its own image and seed.</summary>
    public ReasonRequest ServeRequest(int n, int index, byte[] image, ScorerKind scorer = ScorerKind.Pairwise) =>
        new($"serve-{index}", image, Question, new ReasonOptions
        {
            Mode = ReasoningMode.StageBeam, BeamSize = n, Seed = SearchSeed + (ulong)index, Scorer = scorer,
        });

    /// <summary>Runs one search in the reference's call pattern (<see cref="ReferencePattern"/>); returns wall seconds and the result.</summary>
    public async Task<(double Seconds, ReasonResult Result)> ReferenceSearchAsync(ReasonRequest request)
    {
        var timed = await TimedSearchAsync(request, reference: true);
        return (timed.Seconds, timed.Result);
    }

    /// <summary>
    /// One search's wall seconds, its result, and the seconds its scorer took: <paramref name="JudgeSeconds"/> summed over
    /// its judge comparisons, <paramref name="ScoreSeconds"/> over its verifier batches (each batch once).
    /// </summary>
    /// <param name="FirstTokenSeconds">From the call to the search's first token.</param>
    public sealed record Timed(double Seconds, ReasonResult Result, double JudgeSeconds, double ScoreSeconds, double FirstTokenSeconds);

    /// <summary>
    /// Runs one search to its final event. <paramref name="instantScorer"/>: its judge calls and verifier scores answer
    /// at once without the model (<see cref="InstantScorer"/>), which leaves the search's judge-free floor;
    /// <paramref name="reference"/>: the reference's call pattern.
    /// </summary>
    public async Task<Timed> TimedSearchAsync(ReasonRequest request, bool instantScorer = false, bool reference = false)
    {
        var clock = Stopwatch.StartNew();
        ReasonResult? result = null;
        var judge = 0.0;
        // A verifier batch reports its time on each candidate it scored: counted once per stage.
        var scoring = new Dictionary<(string, int), double>();
        double? firstToken = null;
        await foreach (var e in (reference ? _reference : instantScorer ? _instant : _reasoner).ReasonAsync(request, CancellationToken.None))
        {
            if (e is ReasonError error)
                throw new InvalidOperationException($"search failed: {error.Message}");
            if (e is TokenDelta && firstToken is null)
                firstToken = clock.Elapsed.TotalSeconds;
            if (e is JudgeComparison comparison)
                judge += comparison.ElapsedSeconds;
            if (e is CandidateScored scored)
                scoring[(scored.Stage, scored.Index)] = Math.Max(scoring.GetValueOrDefault((scored.Stage, scored.Index)), scored.ElapsedSeconds);
            if (e is FinalAnswer final)
                result = final.Result;
        }
        return new Timed(clock.Elapsed.TotalSeconds, result ?? throw new InvalidOperationException("search ended without an answer"), judge,
            scoring.Values.Sum(), firstToken ?? clock.Elapsed.TotalSeconds);
    }

    /// <summary>The model's seconds per phase so far (vision, prefill, decode, sampling), and the tokens it prefilled.</summary>
    public Phases PhasesNow()
    {
        var c = Model.Counters;
        return new Phases(c.VisionSeconds, c.PrefillSeconds, c.DecodeSeconds, c.SampleSeconds, c.PrefilledTokens, c.DecodeSteps);
    }

    /// <summary>
    /// Empties the shared prefix cache, so that a measurement does not reuse the prompts an earlier one prefilled (the
    /// bench's searches share their image, question and seed). The image's features stay cached.
    /// </summary>
    public Task ForgetPromptsAsync() => Worker.RunAsync(() => _host.Generator.PrefixCache.Clear());

    /// <summary>Prompt tokens per prefill chunk of the work started from now on (0: whole prompts and images).</summary>
    public int PrefillChunkTokens
    {
        get => _host.Generator.PrefillChunkTokens;
        set => _host.Generator.PrefillChunkTokens = value;
    }

    /// <summary>Empties the image and prompt caches, so that a run starts as the first did.</summary>
    public Task ClearCachesAsync() => Worker.RunAsync(_host.Generator.ClearCaches);

    /// <summary>The image features shared across searches (hits and misses).</summary>
    public ImageFeatureCache ImageCache => _host.Generator.ImageCache;

    /// <summary>A single pass of <paramref name="tokens"/> tokens: open, encode the image, prefill, decode.</summary>
    public async Task<double> SinglePassAsync(int tokens)
    {
        var clock = Stopwatch.StartNew();
        await using var session = await _host.Generator.OpenSessionAsync(new SessionRequest(_image, Question), CancellationToken.None);
        await session.SampleAsync(new SampleRequest(session.PromptIds, [SearchSeed], new StopCondition([], tokens, IgnoreEos: true),
            SamplingOptions.Default), null, CancellationToken.None);
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>Seconds of one vision tower + projector + cross-attention K/V pass over the bench image.</summary>
    public Task<double> VisionSecondsAsync() => Worker.RunAsync(() =>
    {
        using var scope = NewDisposeScope();
        using var batch = _host.Generator.Inputs.Images.Process(ImageDecoder.Decode(_image));
        var clock = Stopwatch.StartNew();
        using var kv = ImageContext.Encode(Model, batch.PixelValues, batch.AspectRatioIds, batch.AspectRatioMask);
        return clock.Elapsed.TotalSeconds;
    });

    /// <summary>Prefill throughput (text-only prompt of <paramref name="tokens"/> tokens) and decode ms per step at a batch size.</summary>
    public Task<(double PrefillTokensPerSecond, double DecodeMs)> TextSpeedAsync(int tokens, int batch, int steps) => Worker.RunAsync(() =>
    {
        using var scope = NewDisposeScope();
        var vocab = Model.Config.Text.VocabSize;
        var ids = arange(tokens, ScalarType.Int64).mul(7919).remainder(vocab).view(1, -1);
        using var cache = Model.NewCache(1, tokens + 1);
        var clock = Stopwatch.StartNew();
        Model.Prefill(ids, cache, null, null);
        var prefill = tokens / clock.Elapsed.TotalSeconds;
        using var fork = cache.Fork(batch, steps + 1);
        var token = full(batch, 1, 42L, ScalarType.Int64);
        Model.Decode(token, fork, null, null).Dispose();
        clock.Restart();
        for (var i = 0; i < steps; i++)
        {
            using var step = NewDisposeScope();
            Model.Decode(token, fork, null, null);
        }
        return (prefill, clock.Elapsed.TotalMilliseconds / steps);
    });

    /// <summary>Bytes of the weights one decode step of this bench's rows (which see the image) reads.</summary>
    public long DecodeWeightBytes() => DecodeWeightBytes(Model, seesImage: true);

    /// <summary>
    /// Bytes of the weights one decode step reads: the text decoder's linear weights as stored (quantized ones with their scales)
    /// and lm_head; not the vision tower, the embedding table (one row) or the norms (a few KB). Rows that see an image
    /// skip only the cross-attention key/value projections (cached); text-only rows skip the cross-attention layers.
    /// </summary>
    public static long DecodeWeightBytes(MllamaModel model, bool seesImage)
    {
        var cross = model.Config.Text.CrossAttentionLayers.Select(i => $"language_model.model.layers.{i}.").ToList();
        bool Skipped(string name) => seesImage
            ? name.Contains("cross_attn.k_proj", StringComparison.Ordinal) || name.Contains("cross_attn.v_proj", StringComparison.Ordinal)
            : cross.Any(c => name.StartsWith(c, StringComparison.Ordinal));
        return model.named_modules()
            .Where(m => m.name.StartsWith("language_model.", StringComparison.Ordinal) && !Skipped(m.name))
            .Sum(m => m.module is Linear linear ? linear.WeightBytes : 0);
    }

    /// <summary>Read bandwidth in bytes/s: a sum over a 1 GB tensor of the bench dtype, best of 5.</summary>
    public Task<double> BandwidthAsync() => Worker.RunAsync(() =>
    {
        using var scope = NewDisposeScope();
        var elementSize = DType == ScalarType.BFloat16 ? 2 : 4;
        var big = ones(1L << 30 >> (elementSize == 2 ? 1 : 2), dtype: DType);
        var best = double.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            big.sum().Dispose();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return (1L << 30) / best;
    });

    /// <summary>The process's peak resident memory (VmHWM), or 0 where /proc does not say.</summary>
    public static long PeakRssBytes() => HostFacts.MeminfoBytes(File.ReadAllText("/proc/self/status"), "VmHWM") ?? 0;

    public void Dispose() => _host.Dispose();
}

/// <summary>The model's seconds per phase, prefilled tokens and decode steps: a snapshot, or the difference of two.</summary>
public sealed record Phases(double Vision, double Prefill, double Decode, double Sample, long PrefilledTokens, long DecodeSteps)
{
    public double Total => Vision + Prefill + Decode + Sample;

    public static Phases operator -(Phases a, Phases b) => new(a.Vision - b.Vision, a.Prefill - b.Prefill, a.Decode - b.Decode,
        a.Sample - b.Sample, a.PrefilledTokens - b.PrefilledTokens, a.DecodeSteps - b.DecodeSteps);
}
