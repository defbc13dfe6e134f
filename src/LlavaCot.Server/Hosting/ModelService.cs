using System.Diagnostics;
using LlavaCot.Model.Layers;
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
/// <param name="Description">What the model folder's <c>llavacot.json</c> says it is, or a plain label.</param>
/// <param name="DTypeReason">Why the compute dtype was chosen (DType=auto explains itself).</param>
/// <param name="SwiresCutoff">The swires mode's cutoff when a request names none (the model folder's llavacot.json may set it).</param>
/// <param name="Weights">How the linear weights are kept (dense, int8 or int4), in words.</param>
public sealed record ServedModel(string Id, string Directory, string Description, string Device, string DType, string DTypeReason,
    double SwiresCutoff, string Weights);

/// <summary>
/// Loads the model after the server starts listening (the bundled demo model when none is configured), so
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

    /// <summary>The options a request starts from: the model's default mode and scorer once it is loaded.</summary>
    public ReasonOptions? Defaults => Volatile.Read(ref _host)?.Settings.Defaults;

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
            var host = await ModelHost.LoadAsync(runtime, stoppingToken);
            _model = new ServedModel(host.Name, runtime.ModelDirectory, host.Description ?? "Mllama checkpoint", host.Model.Device.ToString(),
                host.DType.Name, host.DType.Reason, host.Settings.SwiresCutoff, QuantizationText.Describe(host.Model.Quantization));
            _reasoner = new Reasoner(decorators.Aggregate((ITextGenerator)host.Generator, (g, d) => d.Decorate(g)), host.Settings);
            if (o.UsesBundledModel)
                log.LogInformation("Serving the bundled demo model {Model} ({Description}); set LlavaCot:ModelDirectory (or --model) " +
                                   "to a Mllama folder to serve another", _model.Id, _model.Description);
            foreach (var warning in host.Warnings)
                log.LogWarning("{Warning}", warning);
            // Logged before it is ready, so the log says why the dtype is what it is before any request runs.
            log.LogInformation("Model {Model} ready on {Device} in {DType} ({DTypeReason}), weights {Weights}, in {Seconds:0.0} s; CPU features: {CpuFeatures}",
                _model.Id, _model.Device, _model.DType, _model.DTypeReason, _model.Weights, clock.Elapsed.TotalSeconds, host.Generator.CpuFeatures);
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

    // Registered as itself and as a hosted service, so the container disposes it twice.
    public override void Dispose()
    {
        Interlocked.Exchange(ref _host, null)?.Dispose();
        base.Dispose();
    }
}
