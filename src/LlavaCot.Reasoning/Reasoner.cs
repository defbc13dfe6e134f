using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Judging;
using LlavaCot.Reasoning.Strategies;

namespace LlavaCot.Reasoning;

/// <summary>
/// Runs a reasoning request against a text generator and streams what happens as <see cref="ReasonEvent"/>s,
/// ending with <see cref="FinalAnswer"/> or <see cref="ReasonError"/>.
/// </summary>
public sealed class Reasoner(ITextGenerator generator, ReasonerSettings? settings = null, Func<ulong, IIndexSource>? indexSource = null)
{
    // The knockout draws from its own stream, so the number of generate calls cannot shift its choices.
    private const ulong KnockoutStream = 0x6C6C6176612D636FUL;

    public ReasonerSettings Settings { get; } = settings ?? new ReasonerSettings();

    /// <summary>
    /// Validates the request (<see cref="InvalidReasonRequestException"/>) and opens the model session (decoding the
    /// image); errors in the request surface here, as exceptions, before any event is produced.
    /// </summary>
    public async Task<ReasoningRun> StartAsync(ReasonRequest request, CancellationToken cancellationToken)
    {
        Settings.Limits.Validate(request);
        var seed = request.Options.Seed ?? BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        request = request with { Options = request.Options with { Seed = seed } };
        var o = request.Options;
        var session = await generator.OpenSessionAsync(new SessionRequest(request.Image, request.Question, o.Date) { History = request.History, Prepared = request.PreparedImage },
            cancellationToken);
        var indices = indexSource?.Invoke(seed) ?? new SeededIndexSource(new SeedStream(seed ^ KnockoutStream));
        return new ReasoningRun(session, request, Settings, new SeedStream(seed), indices);
    }

    /// <summary>
    /// Start and run in one: a request the search refuses becomes a <see cref="ReasonError"/> with its reason, any other
    /// failure one with a generic message and the exception as its cause.
    /// </summary>
    public async IAsyncEnumerable<ReasonEvent> ReasonAsync(ReasonRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ReasoningRun? run = null;
        ReasonError? error = null;
        try
        {
            run = await StartAsync(request, cancellationToken);
        }
        catch (InvalidReasonRequestException ex)
        {
            error = new ReasonError(ex.Message) { Cause = ex };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            error = ReasonError.Unexpected(ex);
        }
        if (run is null)
        {
            yield return error!;
            yield break;
        }
        await using (run)
        {
            await foreach (var e in run.EventsAsync(cancellationToken))
                yield return e;
        }
    }
}

/// <summary>A started request: its events, produced while they are read. Disposing it stops the search.</summary>
public sealed class ReasoningRun : IAsyncDisposable
{
    private readonly IGenerationSession _session;
    private readonly ReasonRequest _request;
    private readonly ReasonerSettings _settings;
    private readonly SeedStream _seeds;
    private readonly IIndexSource _indices;
    private int _started;

    internal ReasoningRun(IGenerationSession session, ReasonRequest request, ReasonerSettings settings, SeedStream seeds, IIndexSource indices)
    {
        _session = session;
        _request = request;
        _settings = settings;
        _seeds = seeds;
        _indices = indices;
        Buffer = new EventBuffer(settings.EventCapacity);
    }

    /// <summary>The request as run, with its seed filled in.</summary>
    public ReasonRequest Request => _request;

    /// <summary>Events not yet read are held here (bounded; see <see cref="EventBuffer"/>).</summary>
    internal EventBuffer Buffer { get; }

    public async IAsyncEnumerable<ReasonEvent> EventsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
            throw new InvalidOperationException("a run's events can be read once");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var context = new SearchContext(_session, _request, _settings, _seeds, _indices, Buffer, stop.Token);
        var o = _request.Options;
        var search = Task.Run(async () =>
        {
            try
            {
                await context.EmitAsync(new RequestAccepted(_request.RequestId, ReasoningModes.Name(o.Mode), o.BeamSize, o.Seed!.Value,
                    _session.PromptIds.Count));
                var result = await IReasoningStrategy.For(o.Mode).RunAsync(context);
                await context.EmitAsync(new FinalAnswer(result));
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The reader went away or cancelled; nothing is left to tell.
            }
            catch (Exception ex)
            {
                try
                {
                    await Buffer.WriteAsync(ReasonError.Unexpected(ex), stop.Token);
                }
                catch (OperationCanceledException)
                {
                    // Nobody reads any more.
                }
            }
            finally
            {
                Buffer.Complete();
            }
        }, CancellationToken.None);
        try
        {
            await foreach (var e in Buffer.ReadAllAsync(cancellationToken))
                yield return e;
        }
        finally
        {
            stop.Cancel();
            await search;
        }
    }

    public ValueTask DisposeAsync() => _session.DisposeAsync();
}
