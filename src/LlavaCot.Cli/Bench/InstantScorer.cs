using LlavaCot.Reasoning;

namespace LlavaCot.Cli.Bench;

/// <summary>
/// A scorer that costs nothing, for the search's judge-free floor: a wrapper around the generator port whose judge
/// calls and verifier scores answer at once, without the model, while candidates are sampled as usual. The search
/// then makes every choice it would make (the first candidate of each comparison wins; every score is the same, so the
/// lowest index wins), and what it costs is its sampling alone.
/// </summary>
public sealed class InstantScorer(ITextGenerator inner) : ITextGenerator
{
    /// <summary>The reply to every judge and pre-check call: the first candidate, neither side incorrect.</summary>
    public const string Reply = "I choose response 1";

    public async Task<IGenerationSession> OpenSessionAsync(SessionRequest request, CancellationToken cancellationToken) =>
        new Session(await inner.OpenSessionAsync(request, cancellationToken));

    private sealed class Session(IGenerationSession inner) : IGenerationSession
    {
        public IReadOnlyList<int> PromptIds => inner.PromptIds;
        public SessionInfo? Info => inner.Info;
        public ModelCost? Cost => inner.Cost;
        public bool BatchesCompletions => true;

        public Task<IReadOnlyList<Candidate>> SampleAsync(SampleRequest request, Action<int, string>? onDelta, CancellationToken ct) =>
            inner.SampleAsync(request, onDelta, ct);

        public Task<Completion> CompleteAsync(CompletionRequest request, Action<string>? onDelta, CancellationToken ct) =>
            Task.FromResult(new Completion(Reply, 0, StopReason.EndOfSequence));

        public Task<IReadOnlyList<Completion>> CompleteManyAsync(IReadOnlyList<CompletionRequest> requests, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<Completion>>(requests.Select(_ => new Completion(Reply, 0, StopReason.EndOfSequence)).ToList());

        /// <summary>Every continuation gets log-probability 0 (probability 1): each candidate's score is the same, 0.5.</summary>
        public Task<IReadOnlyList<ScoreResult>> ScoreAsync(IReadOnlyList<ScoreRequest> requests, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<ScoreResult>>(requests
                .Select(r => new ScoreResult(r.Continuations.Select(_ => (IReadOnlyList<double>)[0.0]).ToList(), 0)).ToList());

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
