using LlavaCot.Reasoning;

namespace LlavaCot.Cli.Bench;

/// <summary>
/// The reference's call pattern (LLaVA-CoT's Python code), built on the generator port: every candidate, judge call and
/// scoring prompt is its own session, so the image is encoded again and the whole prompt prefilled for one row each
/// time (a text-only call opens a text-only session). Wrap a generator whose image and prefix caches are 0
/// (<see cref="Runtime.MllamaGenerator.WithoutCaches"/>), or a session would find the image and prompt cached. The session
/// that renders the request's prompt encodes the image once more than the reference does. For benchmarks, and for the
/// test that the optimised engine gives the same tokens.
/// </summary>
public sealed class ReferencePattern(ITextGenerator generator) : ITextGenerator
{
    public async Task<IGenerationSession> OpenSessionAsync(SessionRequest request, CancellationToken cancellationToken) =>
        new Session(generator, request, await generator.OpenSessionAsync(request, cancellationToken));

    /// <summary>One request: the session opened first gives the prompt, every call a fresh one.</summary>
    private sealed class Session(ITextGenerator generator, SessionRequest request, IGenerationSession first) : IGenerationSession
    {
        private readonly object _lock = new();
        private ModelCost _calls = new(0, 0, 0);

        public IReadOnlyList<int> PromptIds => first.PromptIds;

        public SessionInfo? Info => first.Info;

        public ModelCost? Cost
        {
            get
            {
                lock (_lock)
                    return first.Cost is { } opened ? opened + _calls : _calls;
            }
        }

        /// <summary>One session per candidate, one row each.</summary>
        public async Task<IReadOnlyList<Candidate>> SampleAsync(SampleRequest sample, Action<int, string>? onDelta, CancellationToken ct)
        {
            var candidates = new List<Candidate>();
            for (var i = 0; i < sample.Seeds.Count; i++)
            {
                var index = i;
                candidates.Add((await CallAsync(withImage: true, s => s.SampleAsync(sample with { Seeds = [sample.Seeds[index]] },
                    onDelta is null ? null : (_, d) => onDelta(index, d), ct), ct))[0]);
            }
            return candidates;
        }

        public Task<Completion> CompleteAsync(CompletionRequest completion, Action<string>? onDelta, CancellationToken ct) =>
            CallAsync(completion.WithImage, s => s.CompleteAsync(completion, onDelta, ct), ct);

        public async Task<IReadOnlyList<ScoreResult>> ScoreAsync(IReadOnlyList<ScoreRequest> requests, CancellationToken ct)
        {
            var results = new List<ScoreResult>();
            foreach (var r in requests)
                results.Add((await CallAsync(r.WithImage, s => s.ScoreAsync([r], ct), ct))[0]);
            return results;
        }

        /// <summary>A call on a session of its own (the image encoded again, if it uses it), its cost added to this request's.</summary>
        private async Task<T> CallAsync<T>(bool withImage, Func<IGenerationSession, Task<T>> call, CancellationToken ct)
        {
            var session = await generator.OpenSessionAsync(withImage ? request : request with { Image = null }, ct);
            try
            {
                return await call(session);
            }
            finally
            {
                await session.DisposeAsync();
                if (session.Cost is { } cost)
                    lock (_lock)
                        _calls += cost;
            }
        }

        public ValueTask DisposeAsync() => first.DisposeAsync();
    }
}
