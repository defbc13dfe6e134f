using LlavaCot.Reasoning;

namespace LlavaCot.Cli.Bench;

/// <summary>
/// The benchmark's fixed workload as a wrapper around the generator port, so the search runs unchanged: every
/// sampled candidate is exactly <paramref name="candidateTokens"/> tokens and every completion (judge reply)
/// exactly <paramref name="judgeTokens"/>, EOS and stop strings ignored. A random-weight model writes no stage
/// tags, so each candidate's text is wrapped in the tags of the stage it was asked for (the closing tag in its stop
/// strings): the judge then sees well-formed stages and makes every call a real search makes.
/// </summary>
public sealed class FixedLengthWorkload(ITextGenerator inner, int candidateTokens, int judgeTokens) : ITextGenerator
{
    public async Task<IGenerationSession> OpenSessionAsync(SessionRequest request, CancellationToken cancellationToken) =>
        new Session(await inner.OpenSessionAsync(request, cancellationToken), candidateTokens, judgeTokens);

    private sealed class Session(IGenerationSession inner, int candidateTokens, int judgeTokens) : IGenerationSession
    {
        /// <summary>The tagged text of every candidate so far, by its ids: a later stage's text starts with its prefix's.</summary>
        private readonly Dictionary<string, string> _texts = new(StringComparer.Ordinal);

        public IReadOnlyList<int> PromptIds => inner.PromptIds;
        public SessionInfo? Info => inner.Info;
        public ModelCost? Cost => inner.Cost;
        public bool BatchesCompletions => inner.BatchesCompletions;

        public async Task<IReadOnlyList<Candidate>> SampleAsync(SampleRequest request, Action<int, string>? onDelta, CancellationToken ct)
        {
            var candidates = await inner.SampleAsync(request with { Stop = Fixed(candidateTokens) }, onDelta, ct);
            var before = _texts.GetValueOrDefault(Key(request.Prefix), "");
            var close = request.Stop.StopStrings.FirstOrDefault(s => s.StartsWith("</", StringComparison.Ordinal) && s.EndsWith('>'));
            return candidates.Select(c =>
            {
                var tagged = close is null ? c.NewText : $"<{close[2..]}{c.NewText}{close}\n\n";
                _texts[Key(c.Ids)] = before + tagged;
                return c with { Text = before + tagged, NewText = tagged };
            }).ToList();
        }

        public Task<Completion> CompleteAsync(CompletionRequest request, Action<string>? onDelta, CancellationToken ct) =>
            inner.CompleteAsync(request with { Stop = Fixed(judgeTokens) }, onDelta, ct);

        public Task<IReadOnlyList<Completion>> CompleteManyAsync(IReadOnlyList<CompletionRequest> requests, CancellationToken ct) =>
            inner.CompleteManyAsync(requests.Select(r => r with { Stop = Fixed(judgeTokens) }).ToList(), ct);

        public Task<IReadOnlyList<ScoreResult>> ScoreAsync(IReadOnlyList<ScoreRequest> requests, CancellationToken ct) =>
            inner.ScoreAsync(requests, ct);

        public ValueTask DisposeAsync() => inner.DisposeAsync();

        private static StopCondition Fixed(int tokens) => new([], tokens, IgnoreEos: true);

        private static string Key(IReadOnlyList<int> ids) => string.Join(',', ids);
    }
}
