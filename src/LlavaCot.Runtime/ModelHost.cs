using LlavaCot.Model;
using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.IO;
using LlavaCot.Reasoning;

namespace LlavaCot.Runtime;

/// <summary>A loaded model ready to answer: the model on its worker thread, its inputs builder, the reasoning engine.</summary>
public sealed class ModelHost : IDisposable
{
    public MllamaModel Model { get; }
    public ModelWorker Worker { get; }
    public MllamaGenerator Generator { get; }
    public Reasoner Reasoner { get; }
    public RuntimeOptions Options { get; }

    /// <summary>The model's id as clients see it: <c>llavacot.json</c>'s name, else the folder's name.</summary>
    public string Name { get; }

    /// <summary>The compute dtype and why it was chosen.</summary>
    public DTypeChoice DType { get; }

    /// <summary>
    /// The search's settings: the caller's, with the model folder's judge reply limit where that is smaller, and its
    /// swires cutoff, default mode and default scorer where it sets them (they belong to the model's scores).
    /// </summary>
    public ReasonerSettings Settings { get; }

    /// <summary>What the model folder says the model is (<c>llavacot.json</c>), or null.</summary>
    public string? Description { get; }

    /// <summary>Things about the folder the user should hear at start (e.g. a chat template that differs from ours).</summary>
    public IReadOnlyList<string> Warnings { get; }

    private int _disposed;

    private ModelHost(RuntimeOptions options, FolderSettings folder, MllamaModel model, ModelWorker worker, MllamaGenerator generator,
        DTypeChoice dtype, IReadOnlyList<string> warnings)
    {
        Options = options;
        Model = model;
        Worker = worker;
        Generator = generator;
        DType = dtype;
        Warnings = warnings;
        (Name, Description, Settings) = folder;
        Reasoner = new Reasoner(generator, Settings);
    }

    private sealed record FolderSettings(string Name, string? Description, ReasonerSettings Settings)
    {
        /// <summary>Reads the folder's <c>llavacot.json</c> (before the weights, so a bad one fails fast).</summary>
        public static FolderSettings Read(RuntimeOptions options)
        {
            var dir = options.ModelDirectory;
            var folder = ModelSettings.Load(dir);
            var settings = options.Reasoning;
            if (folder.JudgeMaxNewTokens is { } limit && limit < settings.JudgeMaxNewTokens)
                settings = settings with { JudgeMaxNewTokens = limit };
            if (folder.SwiresCutoff is { } cutoff)
                settings = settings with { SwiresCutoff = cutoff };
            if (folder.DefaultMode is { } mode)
                settings = settings with { DefaultMode = mode };
            if (folder.DefaultScorer is { } scorer)
                settings = settings with { DefaultScorer = scorer };
            return new FolderSettings(folder.Name ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir))), folder.Description,
                settings);
        }
    }

    /// <summary>Loads config, tokenizer, image processor and weights of the model folder, on a new model thread.</summary>
    public static async Task<ModelHost> LoadAsync(RuntimeOptions options, CancellationToken cancellationToken = default)
    {
        TorchNative.Initialize();
        var dir = options.ModelDirectory;
        var config = MllamaConfig.Load(dir);
        var inputs = ModelInputsBuilder.Load(dir, config);
        var folder = FolderSettings.Read(options);
        var generation = File.Exists(Path.Combine(dir, GenerationConfig.FileName))
            ? GenerationConfig.Load(dir)
            : new GenerationConfig { EosTokenIds = config.Text.EosTokenIds };
        var device = TorchSettings.ParseDevice(options.Device);
        var host = options.Host();
        var footprint = Footprint(dir, options.WeightsFile);
        var quantize = options.Quantization;
        var dtype = DTypePolicy.Choose(options.DType, options.Bf16Support, config.TorchDType, footprint.Parameters,
            device.type == TorchSharp.DeviceType.CUDA, host);
        if (device.type == TorchSharp.DeviceType.CPU && MemoryCheck.Refusal(dir, footprint, dtype.MatrixDType, quantize, host.AvailableMemoryBytes) is { } refusal)
            throw new ModelLoadException(refusal);
        string[] warnings = ChatTemplateCheck.Warning(dir) is { } template ? [template] : [];
        var worker = new ModelWorker(maxBatchRows: options.MaxBatchRows);
        try
        {
            var model = await worker.RunAsync(() =>
            {
                var loaded = MllamaModel.Load(dir, device, dtype.DType, options.WeightsFile, options.LoadProgress, quantize, dtype.Matrices);
                try
                {
                    loaded.PrepareDecode();
                    return loaded;
                }
                catch
                {
                    loaded.Dispose();
                    throw;
                }
            }, cancellationToken);
            return new ModelHost(options, folder, model, worker, new MllamaGenerator(model, inputs, generation, worker, options, host.CpuFeatures),
                dtype, warnings);
        }
        catch
        {
            worker.Dispose();
            throw;
        }
    }

    /// <summary>A host around a model built elsewhere (benchmarks: random weights); the host owns model and worker.</summary>
    public static ModelHost Create(RuntimeOptions options, MllamaModel model, ModelWorker worker, ModelInputsBuilder inputs,
        GenerationConfig generation)
    {
        var dtype = new DTypeChoice(model.DType, "given by the caller", model.MatrixDType);
        worker.RunAsync(model.PrepareDecode).GetAwaiter().GetResult();
        return new ModelHost(options, FolderSettings.Read(options), model, worker,
            new MllamaGenerator(model, inputs, generation, worker, options, options.Host().CpuFeatures), dtype, []);
    }

    /// <summary>Parameters of the checkpoint, from its headers (no weights are read).</summary>
    private static WeightFootprint Footprint(string dir, string? weightsFile)
    {
        using var checkpoint = Checkpoint.Open(dir, weightsFile);
        return WeightFootprint.Of(checkpoint);
    }

    /// <summary>
    /// Live tensors on the model thread once the shared caches are emptied: what the model and the running requests
    /// hold, so a leak shows as a count that does not come back.
    /// </summary>
    public Task<long> LiveTensorsWithoutCachesAsync() => Worker.RunAsync(() =>
    {
        Generator.ClearCaches();
        return TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
    });

    /// <summary>Frees the model on its thread, then stops the thread; twice is harmless.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        try
        {
            Worker.RunAsync(() =>
            {
                Generator.ImageCache.Dispose();
                Generator.PrefixCache.Dispose();
                Model.Dispose();
            }).GetAwaiter().GetResult();
        }
        catch (ObjectDisposedException)
        {
            // The worker already stopped; its tensors are never freed from another thread.
        }
        Worker.Dispose();
    }
}
