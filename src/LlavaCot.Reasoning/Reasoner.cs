using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Judging;
using LlavaCot.Reasoning.Strategies;

namespace LlavaCot.Reasoning;

/// <summary>
/// Runs a reasoning request against a text generator and streams what happens as <see cref="ReasonEvent"/>s,
/// ending with <see cref="FinalAnswer"/> or <see cref="ReasonError"/>.
/// </summary>
public sealed class Reasoner(ITextGenerator generator, Func<ulong, IIndexSource>? indexSource = null)
{
    // The knockout draws from its own stream, so the number of generate calls cannot shift its choices.
    private const ulong KnockoutStream = 0x6C6C6176612D636FUL;

    /// <summary>
    /// Validates the request and opens the model session (decoding the image); errors in the request surface here,
    /// as exceptions, before any event is produced.
    /// </summary>
    public async Task<ReasoningRun> StartAsync(ReasonRequest request, CancellationToken cancellationToken)
    {
        Validate(request);
        var seed = request.Options.Seed ?? BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        request = request with { Options = request.Options with { Seed = seed } };
        var session = await generator.OpenSessionAsync(new SessionRequest(request.Image, request.Question, request.Options.Naive), cancellationToken);
        var indices = indexSource?.Invoke(seed) ?? new SeededIndexSource(new SeedStream(seed ^ KnockoutStream));
        return new ReasoningRun(session, request, new SeedStream(seed), indices);
    }

    /// <summary>Start and run in one: request errors become a <see cref="ReasonError"/> event.</summary>
    public async IAsyncEnumerable<ReasonEvent> ReasonAsync(ReasonRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ReasoningRun? run = null;
        string? error = null;
        try
        {
            run = await StartAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            error = ex.Message;
        }
        if (run is null)
        {
            yield return new ReasonError(error ?? "the request could not be started");
            yield break;
        }
        await using (run)
        {
            await foreach (var e in run.EventsAsync(cancellationToken))
                yield return e;
        }
    }

    public static void Validate(ReasonRequest request)
    {
        var o = request.Options;
        if (string.IsNullOrWhiteSpace(request.Question))
            throw new ArgumentException("question must not be empty", nameof(request));
        if (o.BeamSize < 1 || o.BeamSize > ReasonOptions.MaxBeamSize)
            throw new ArgumentException($"beam_size must lie in 1..{ReasonOptions.MaxBeamSize}, got {o.BeamSize}", nameof(request));
        if (o.MaxNewTokens < 1)
            throw new ArgumentException($"max_new_tokens must be positive, got {o.MaxNewTokens}", nameof(request));
        var s = o.Sampling;
        if (s.Temperature < 0 || double.IsNaN(s.Temperature))
            throw new ArgumentException($"temperature must be >= 0, got {s.Temperature}", nameof(request));
        if (s.TopK < 0)
            throw new ArgumentException($"top_k must be >= 0, got {s.TopK}", nameof(request));
        if (!(s.TopP > 0 && s.TopP <= 1))
            throw new ArgumentException($"top_p must lie in (0, 1], got {s.TopP}", nameof(request));
    }
}

/// <summary>A started request: its events, produced while they are read. Disposing it stops the search.</summary>
public sealed class ReasoningRun : IAsyncDisposable
{
    private readonly IGenerationSession _session;
    private readonly ReasonRequest _request;
    private readonly SeedStream _seeds;
    private readonly IIndexSource _indices;
    private int _started;

    internal ReasoningRun(IGenerationSession session, ReasonRequest request, SeedStream seeds, IIndexSource indices)
    {
        _session = session;
        _request = request;
        _seeds = seeds;
        _indices = indices;
    }

    /// <summary>The request as run, with its seed filled in.</summary>
    public ReasonRequest Request => _request;

    public async IAsyncEnumerable<ReasonEvent> EventsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
            throw new InvalidOperationException("a run's events can be read once");
        var channel = Channel.CreateUnbounded<ReasonEvent>(new UnboundedChannelOptions { SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var context = new SearchContext(_session, _request, _seeds, _indices, channel.Writer, stop.Token);
        var o = _request.Options;
        context.Emit(new RequestAccepted(_request.RequestId, ReasoningModes.Name(o.Mode), o.BeamSize, o.Seed!.Value, _session.PromptIds.Count));
        var search = Task.Run(async () =>
        {
            try
            {
                var result = await IReasoningStrategy.For(o.Mode).RunAsync(context);
                context.Emit(new FinalAnswer(result));
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The reader went away or cancelled; nothing is left to tell.
            }
            catch (Exception ex)
            {
                context.Emit(new ReasonError(ex.Message));
            }
            finally
            {
                channel.Writer.TryComplete();
            }
        }, CancellationToken.None);
        try
        {
            await foreach (var e in channel.Reader.ReadAllAsync(cancellationToken))
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
