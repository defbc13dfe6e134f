using LlavaCot.Model;
using LlavaCot.Model.Inputs;
using LlavaCot.Reasoning;

namespace LlavaCot.Runtime.Tests;

/// <summary>
/// Wraps a real session: stage candidates get forced text (tags included, tokenised by the real tokenizer) so the
/// search can proceed as with a trained model, while every judge call still goes to the real model, batched as the
/// real session batches them unless <c>batchJudging</c> is false. With <c>prefillStages</c> each stage's prefix is
/// also sent through the real model (one sampled token, then discarded), so the prefix cache sees the stage chain;
/// with <c>counters</c> the tokens each stage prefilled are recorded.
/// </summary>
internal sealed class ForcedStageGenerator(ITextGenerator inner, ITokenizer tokenizer, Func<SampleRequest, int, string> text,
    bool batchJudging = true, bool prefillStages = false, ModelCounters? counters = null) : ITextGenerator
{
    private ITokenizer Tokenizer => tokenizer;
    private Func<SampleRequest, int, string> Text => text;
    private bool BatchJudging => batchJudging;
    private bool PrefillStages => prefillStages;
    private long Prefilled => counters?.PrefilledTokens ?? 0;

    /// <summary>Each stage's prefix and the tokens its sample call prefilled.</summary>
    public List<(IReadOnlyList<int> Prefix, long Prefilled)> Stages { get; } = [];

    /// <summary>Judge and pre-check requests that reached the model, and the size of each batch they went in.</summary>
    public List<CompletionRequest> Completions { get; } = [];
    public List<int> Batches { get; } = [];

    public async Task<IGenerationSession> OpenSessionAsync(SessionRequest request, CancellationToken cancellationToken) =>
        new Session(await inner.OpenSessionAsync(request, cancellationToken), this);

    private sealed class Session(IGenerationSession inner, ForcedStageGenerator owner) : IGenerationSession
    {
        public IReadOnlyList<int> PromptIds => inner.PromptIds;

        public SessionInfo? Info => inner.Info;

        public ModelCost? Cost => inner.Cost;

        public bool BatchesCompletions => owner.BatchJudging && inner.BatchesCompletions;

        public async Task<IReadOnlyList<Candidate>> SampleAsync(SampleRequest request, Action<int, string>? onDelta, CancellationToken ct)
        {
            if (owner.PrefillStages)
            {
                var before = owner.Prefilled;
                await inner.SampleAsync(request with { Stop = StopCondition.EosOnly(1) }, null, ct);
                owner.Stages.Add((request.Prefix, owner.Prefilled - before));
            }
            var result = new List<Candidate>();
            for (var i = 0; i < request.Seeds.Count; i++)
            {
                var newText = owner.Text(request, i);
                var newIds = owner.Tokenizer.EncodeUser(newText);
                onDelta?.Invoke(i, newText);
                var ids = request.Prefix.Concat(newIds).ToList();
                result.Add(new Candidate(ids, owner.Tokenizer.Decode(ids.Skip(PromptIds.Count), skipSpecialTokens: true), newText,
                    newIds.Count, StopReason.StopString));
            }
            return result;
        }

        public Task<Completion> CompleteAsync(CompletionRequest request, Action<string>? onDelta, CancellationToken ct)
        {
            Record([request]);
            return inner.CompleteAsync(request, onDelta, ct);
        }

        public Task<IReadOnlyList<Completion>> CompleteManyAsync(IReadOnlyList<CompletionRequest> requests, CancellationToken ct)
        {
            if (!BatchesCompletions)
                return IGenerationSession.OneByOneAsync(this, requests, ct);
            Record(requests);
            return inner.CompleteManyAsync(requests, ct);
        }

        public Task<IReadOnlyList<ScoreResult>> ScoreAsync(IReadOnlyList<ScoreRequest> requests, CancellationToken ct) =>
            inner.ScoreAsync(requests, ct);

        private void Record(IReadOnlyList<CompletionRequest> requests)
        {
            lock (owner)
            {
                owner.Completions.AddRange(requests);
                owner.Batches.Add(requests.Count);
            }
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
