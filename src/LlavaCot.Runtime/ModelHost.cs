using LlavaCot.Model;
using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
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

    /// <summary>The model folder's name, as clients see it.</summary>
    public string Name { get; }

    private ModelHost(RuntimeOptions options, MllamaModel model, ModelWorker worker, MllamaGenerator generator)
    {
        Options = options;
        Model = model;
        Worker = worker;
        Generator = generator;
        Reasoner = new Reasoner(generator);
        Name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.ModelDirectory)));
    }

    /// <summary>Loads config, tokenizer, image processor and weights of the model folder, on a new model thread.</summary>
    public static async Task<ModelHost> LoadAsync(RuntimeOptions options, CancellationToken cancellationToken = default)
    {
        TorchNative.Initialize();
        var dir = options.ModelDirectory;
        var config = MllamaConfig.Load(dir);
        var inputs = ModelInputsBuilder.Load(dir, config);
        var generation = File.Exists(Path.Combine(dir, GenerationConfig.FileName))
            ? GenerationConfig.Load(dir)
            : new GenerationConfig { EosTokenIds = config.Text.EosTokenIds };
        var device = TorchSettings.ParseDevice(options.Device);
        var dtype = TorchSettings.ParseDType(options.DType);
        var worker = new ModelWorker();
        try
        {
            var model = await worker.RunAsync(() => MllamaModel.Load(dir, device, dtype, options.WeightsFile), cancellationToken);
            return new ModelHost(options, model, worker, new MllamaGenerator(model, inputs, generation, worker, options));
        }
        catch
        {
            worker.Dispose();
            throw;
        }
    }

    /// <summary>A host around a model built elsewhere (benchmarks: random weights); the host owns model and worker.</summary>
    public static ModelHost Create(RuntimeOptions options, MllamaModel model, ModelWorker worker, ModelInputsBuilder inputs,
        GenerationConfig generation) =>
        new(options, model, worker, new MllamaGenerator(model, inputs, generation, worker, options));

    public void Dispose()
    {
        try
        {
            Worker.RunAsync(Model.Dispose).Wait();
        }
        catch (AggregateException)
        {
            // The worker already stopped; the model's native memory goes with the process.
        }
        Worker.Dispose();
    }
}
