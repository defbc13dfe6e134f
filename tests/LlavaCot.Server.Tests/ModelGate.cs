using LlavaCot.Model.Inputs;
using LlavaCot.Reasoning;
using LlavaCot.Server.Hosting;

namespace LlavaCot.Server.Tests;

/// <summary>
/// Wraps the server's real generator so a test can hold a search before it samples, pause the model thread inside
/// a decode step, see when the search's token is cancelled and when sessions close, or force tagged stage texts so
/// the real judge runs. Without any of that it passes everything through.
/// </summary>
public sealed class ModelGate : IGeneratorDecorator
{
    private readonly object _lock = new();
    private TaskCompletionSource? _hold;
    private TaskCompletionSource _sampleEntered = New();
    private ManualResetEventSlim? _pause;
    private TaskCompletionSource _paused = New();
    private TaskCompletionSource _cancelled = New();
    private int _openSessions;

    /// <summary>Stage candidates get tagged text (tokenised by this tokenizer) instead of model output; judge calls still reach the model.</summary>
    public ITokenizer? ForceTagsWith { get; set; }

    /// <summary>Judge and pre-check replies from a script (one token per character) instead of the model.</summary>
    public Func<CompletionRequest, string>? JudgeReplies { get; set; }

    /// <summary>Thrown where a search samples (inside the running search).</summary>
    public Exception? FailSampling { get; set; }

    /// <summary>Thrown where a session opens (before the search starts).</summary>
    public Exception? FailOpening { get; set; }

    public int OpenSessions => Volatile.Read(ref _openSessions);

    /// <summary>How many sampling calls of each search pass before <see cref="Hold"/> applies (1: the first stage runs).</summary>
    public int HoldFromSample { get; set; }

    public ITextGenerator Decorate(ITextGenerator inner) => new Generator(inner, this);

    private static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Searches wait before sampling until <see cref="Release"/>; returns a task completed when one is waiting.</summary>
    public Task Hold()
    {
        lock (_lock)
        {
            _hold = New();
            _sampleEntered = New();
            return _sampleEntered.Task;
        }
    }

    public void Release()
    {
        lock (_lock)
        {
            _hold?.TrySetResult();
            _hold = null;
        }
    }

    /// <summary>The next streamed token blocks the model thread until <see cref="Resume"/>; returns a task completed when it does.</summary>
    public (Task Paused, Task Cancelled) PauseDeltas()
    {
        lock (_lock)
        {
            _paused = New();
            _cancelled = New();
            _pause = new ManualResetEventSlim(false);
            return (_paused.Task, _cancelled.Task);
        }
    }

    public void Resume()
    {
        lock (_lock)
        {
            _pause?.Set();
            _pause = null;
        }
    }

    private sealed class Generator(ITextGenerator inner, ModelGate gate) : ITextGenerator
    {
        public async Task<IGenerationSession> OpenSessionAsync(SessionRequest request, CancellationToken cancellationToken)
        {
            if (gate.FailOpening is { } failure)
                throw failure;
            var session = await inner.OpenSessionAsync(request, cancellationToken);
            Interlocked.Increment(ref gate._openSessions);
            return new Session(session, gate);
        }
    }

    private sealed class Session(IGenerationSession inner, ModelGate gate) : IGenerationSession
    {
        private int _samples;

        public IReadOnlyList<int> PromptIds => inner.PromptIds;

        public async Task<IReadOnlyList<Candidate>> SampleAsync(SampleRequest request, Action<int, string>? onDelta, CancellationToken ct)
        {
            Task? hold = null;
            if (Interlocked.Increment(ref _samples) > gate.HoldFromSample)
                lock (gate._lock)
                {
                    hold = gate._hold?.Task;
                    gate._sampleEntered.TrySetResult();
                }
            if (hold is not null)
                await hold.WaitAsync(ct);
            if (gate.FailSampling is { } failure)
                throw failure;
            using var registration = ct.Register(() =>
            {
                lock (gate._lock)
                    gate._cancelled.TrySetResult();
            });
            if (gate.ForceTagsWith is { } tokenizer)
                return Forced(request, tokenizer, onDelta);
            return await inner.SampleAsync(request, (i, text) =>
            {
                ManualResetEventSlim? pause;
                lock (gate._lock)
                    pause = gate._pause;
                if (pause is not null)
                {
                    gate._paused.TrySetResult();
                    pause.Wait();
                }
                onDelta?.Invoke(i, text);
            }, ct);
        }

        private IReadOnlyList<Candidate> Forced(SampleRequest request, ITokenizer tokenizer, Action<int, string>? onDelta)
        {
            var close = request.Stop.StopStrings.FirstOrDefault() ?? "</CONCLUSION>";
            var open = close.Replace("</", "<", StringComparison.Ordinal);
            return request.Seeds.Select((seed, i) =>
            {
                var text = $"{open} candidate {i} of seed {seed % 1000}. {close}\n\n";
                var ids = tokenizer.EncodeUser(text);
                onDelta?.Invoke(i, text);
                var all = request.Prefix.Concat(ids).ToList();
                return new Candidate(all, tokenizer.Decode(all.Skip(PromptIds.Count), skipSpecialTokens: true), text, ids.Count, StopReason.StopString);
            }).ToList();
        }

        public Task<Completion> CompleteAsync(CompletionRequest request, Action<string>? onDelta, CancellationToken ct) =>
            gate.JudgeReplies is { } script ? Task.FromResult(Scripted(script, request)) : inner.CompleteAsync(request, onDelta, ct);

        public SessionInfo? Info => inner.Info;

        public ModelCost? Cost => inner.Cost;

        public bool BatchesCompletions => inner.BatchesCompletions;

        public Task<IReadOnlyList<ScoreResult>> ScoreAsync(IReadOnlyList<ScoreRequest> requests, CancellationToken ct) =>
            inner.ScoreAsync(requests, ct);

        public Task<IReadOnlyList<Completion>> CompleteManyAsync(IReadOnlyList<CompletionRequest> requests, CancellationToken ct) =>
            gate.JudgeReplies is { } script
                ? Task.FromResult<IReadOnlyList<Completion>>(requests.Select(r => Scripted(script, r)).ToList())
                : inner.CompleteManyAsync(requests, ct);

        private static Completion Scripted(Func<CompletionRequest, string> script, CompletionRequest request)
        {
            var reply = script(request);
            return new Completion(reply, reply.Length, StopReason.EndOfSequence);
        }

        public async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            Interlocked.Decrement(ref gate._openSessions);
        }
    }
}
