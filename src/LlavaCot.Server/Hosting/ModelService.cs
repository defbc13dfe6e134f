using System.Diagnostics;
using LlavaCot.Reasoning;
using LlavaCot.Runtime;
using Microsoft.Extensions.Options;

namespace LlavaCot.Server.Hosting;

/// <summary>Wraps the generator the server's reasoner uses; tests hold or observe the model with one.</summary>
public interface IGeneratorDecorator
{
    ITextGenerator Decorate(ITextGenerator inner);
}

/// <summary>What clients are told about the served model.</summary>
/// <param name="DTypeReason">Why the compute dtype was chosen (DType=auto explains itself).</param>
public sealed record ServedModel(string Id, string Directory, bool RandomWeights, string Description, string Device, string DType,
    string DTypeReason);

/// <summary>
/// Loads the model after the server starts listening (creating the demo model first when none is configured), so
/// /health/live answers at once and /health/ready turns true when the model is in memory. A load failure stops the
/// server with exit code 1.
/// </summary>
public sealed class ModelService(
    IOptions<ServerOptions> options, IEnumerable<IGeneratorDecorator> decorators, IHostApplicationLifetime lifetime,
    ILogger<ModelService> log) : BackgroundService
{
    private readonly TaskCompletionSource<ModelHost> _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ModelHost? _host;
    private Reasoner? _reasoner;
    private ServedModel? _model;

    public bool IsReady => Volatile.Read(ref _host) is not null;

    public ModelHost Host => Volatile.Read(ref _host) ?? throw new InvalidOperationException("the model is not loaded yet");

    public Reasoner Reasoner => _reasoner ?? throw new InvalidOperationException("the model is not loaded yet");

    public ServedModel Model => _model ?? throw new InvalidOperationException("the model is not loaded yet");

    /// <summary>Completes when the model is loaded (faults when loading failed).</summary>
    public Task<ModelHost> Loaded => _loaded.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        try
        {
            var clock = Stopwatch.StartNew();
            var loading = new LoadReporter(line => log.LogInformation("{Progress}", line));
            var runtime = o.ToRuntimeOptions() with { LoadProgress = loading.Report };
            if (o.UsesDemoModel)
                await Task.Run(() => EnsureDemoModel(runtime.ModelDirectory), stoppingToken);
            var host = await ModelHost.LoadAsync(runtime, stoppingToken);
            var random = DemoModel.IsDemo(runtime.ModelDirectory);
            // The demo keeps its labelled id wherever its folder lives.
            _model = new ServedModel(random ? DemoModel.Name : host.Name, runtime.ModelDirectory, random,
                random ? DemoModel.Description : host.Description ?? "Mllama checkpoint", host.Model.Device.ToString(), host.DType.Name,
                host.DType.Reason);
            _reasoner = new Reasoner(decorators.Aggregate((ITextGenerator)host.Generator, (g, d) => d.Decorate(g)), host.Settings);
            if (random)
                log.LogWarning("Serving {Model} from {Directory}: RANDOM WEIGHTS, not a trained model; answers are noise. " +
                               "Set LlavaCot:ModelDirectory (or --model) to a real Mllama folder", _model.Id, runtime.ModelDirectory);
            foreach (var warning in host.Warnings)
                log.LogWarning("{Warning}", warning);
            // Logged before it is ready, so the log says why the dtype is what it is before any request runs.
            log.LogInformation("Model {Model} ready on {Device} in {DType} ({DTypeReason}) in {Seconds:0.0} s",
                _model.Id, _model.Device, _model.DType, _model.DTypeReason, clock.Elapsed.TotalSeconds);
            Volatile.Write(ref _host, host);
            _loaded.TrySetResult(host);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _loaded.TrySetCanceled(stoppingToken);
        }
        catch (Exception ex)
        {
            _loaded.TrySetException(ex);
            log.LogCritical(ex, "Could not load the model from {Directory}: {Reason}", o.ResolvedModelDirectory, ex.Message);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    private void EnsureDemoModel(string dir)
    {
        if (DemoModel.EnsureCreated(dir))
            log.LogWarning("Created the demo model {Model} in {Directory}: small, RANDOM WEIGHTS, not a trained model", DemoModel.Name, dir);
    }

    // Registered as itself and as a hosted service, so the container disposes it twice.
    public override void Dispose()
    {
        Interlocked.Exchange(ref _host, null)?.Dispose();
        base.Dispose();
    }
}
