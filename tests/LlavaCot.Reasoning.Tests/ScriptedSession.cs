using LlavaCot.Reasoning;

namespace LlavaCot.Reasoning.Tests;

/// <summary>
/// A stand-in model for search logic: one token per character (id = char code), candidate texts from a script,
/// judge replies from a queue. Records every call.
/// </summary>
internal sealed class ScriptedSession : IGenerationSession, ITextGenerator
{
    private readonly Func<SampleRequest, int, string> _candidate;
    private readonly Queue<string> _replies;

    public ScriptedSession(Func<SampleRequest, int, string> candidate, IEnumerable<string>? replies = null, string prompt = "<prompt>")
    {
        _candidate = candidate;
        _replies = new Queue<string>(replies ?? []);
        PromptIds = prompt.Select(c => (int)c).ToList();
    }

    public IReadOnlyList<int> PromptIds { get; }
    public List<SampleRequest> Samples { get; } = [];
    public List<CompletionRequest> Completions { get; } = [];
    public bool Disposed { get; private set; }

    /// <summary>Called before each sample request returns, e.g. to block or cancel.</summary>
    public Func<CancellationToken, Task>? BeforeSample { get; init; }

    /// <summary>Report batching, so the judge sends pre-checks and comparisons in batches (answered one by one here).</summary>
    public bool Batches { get; init; }

    /// <summary>Stream each candidate's text one character per delta (else one delta per candidate).</summary>
    public bool CharacterDeltas { get; init; }

    public bool BatchesCompletions => Batches;

    public string Decode(IEnumerable<int> ids) => new(ids.Select(i => (char)i).ToArray());

    public Task<IGenerationSession> OpenSessionAsync(SessionRequest request, CancellationToken cancellationToken) =>
        Task.FromResult<IGenerationSession>(this);

    public async Task<IReadOnlyList<Candidate>> SampleAsync(SampleRequest request, Action<int, string>? onDelta, CancellationToken ct)
    {
        Samples.Add(request);
        if (BeforeSample is not null)
            await BeforeSample(ct);
        ct.ThrowIfCancellationRequested();
        var result = new List<Candidate>();
        for (var i = 0; i < request.Seeds.Count; i++)
        {
            var text = _candidate(request, i);
            foreach (var delta in CharacterDeltas ? text.Select(c => c.ToString()) : [text])
                onDelta?.Invoke(i, delta);
            var ids = request.Prefix.Concat(text.Select(c => (int)c)).ToList();
            var stopped = request.Stop.StopStrings.Any(s => text.Contains(s)) || request.Stop.StopAtPeriod && text.EndsWith('.');
            var stop = stopped ? StopReason.StopString : StopReason.EndOfSequence;
            result.Add(new Candidate(ids, Decode(ids.Skip(PromptIds.Count)), text, text.Length, stop)
            {
                LogProbs = request.TopLogProbs is { } top ? LogProbs(text, top) : null,
            });
        }
        return result;
    }

    public Task<Completion> CompleteAsync(CompletionRequest request, Action<string>? onDelta, CancellationToken ct)
    {
        Completions.Add(request);
        var reply = _replies.Count > 0 ? _replies.Dequeue() : throw new InvalidOperationException("no scripted reply left");
        return Task.FromResult(new Completion(reply, reply.Length, StopReason.EndOfSequence)
        {
            LogProbs = request.TopLogProbs is { } top ? LogProbs(reply, top) : null,
        });
    }

    /// <summary>One token per character, the n-th of a call's with log-probability -n/100, and <paramref name="top"/> alternatives.</summary>
    public static IReadOnlyList<TokenLogProb> LogProbs(string text, int top) =>
        text.Select((c, n) => new TokenLogProb(c, c.ToString(), -(n + 1) / 100.0, System.Text.Encoding.UTF8.GetBytes(c.ToString()),
            Enumerable.Range(0, top).Select(k => new TopLogProb(c + k, ((char)(c + k)).ToString(), -(n + 1 + k) / 100.0, [(byte)(c + k)])).ToList()))
            .ToList();

    /// <summary>Every scoring request, and the batches they came in.</summary>
    public List<ScoreRequest> Scored { get; } = [];
    public List<int> ScoreBatches { get; } = [];

    /// <summary>The verifier's P(correct) for a scored prompt (default 0.5); the log-probabilities are made to give it.</summary>
    public Func<ScoreRequest, double> Score { get; init; } = _ => 0.5;

    public Task<IReadOnlyList<ScoreResult>> ScoreAsync(IReadOnlyList<ScoreRequest> requests, CancellationToken ct)
    {
        Scored.AddRange(requests);
        ScoreBatches.Add(requests.Count);
        return Task.FromResult<IReadOnlyList<ScoreResult>>(requests.Select(r =>
        {
            var p = Score(r);
            // One token per continuation: "correct" with log p, "incorrect" with log (1 - p).
            return new ScoreResult([[Math.Log(p)], [Math.Log(1 - p)]], r.UserText.Length + 2);
        }).ToList());
    }

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}

/// <summary>Index source that replays a fixed list and records the pool sizes it was asked about.</summary>
internal sealed class ScriptedIndices(params int[] picks) : Judging.IIndexSource
{
    private int _next;

    public List<int> PoolSizes { get; } = [];

    public int Next(int count)
    {
        PoolSizes.Add(count);
        return picks[_next++ % picks.Length] % count;
    }
}
