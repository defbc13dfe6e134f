using LlavaCot.Model.Inputs;
using LlavaCot.Reasoning;

namespace LlavaCot.Runtime.Tests;

/// <summary>
/// Wraps a real session: stage candidates get forced text (tags included, tokenised by the real tokenizer) so the
/// search can proceed as with a trained model, while every judge call still goes to the real model.
/// </summary>
internal sealed class ForcedStageGenerator(ITextGenerator inner, ITokenizer tokenizer, Func<SampleRequest, int, string> text) : ITextGenerator
{
    public async Task<IGenerationSession> OpenSessionAsync(SessionRequest request, CancellationToken cancellationToken) =>
        new Session(await inner.OpenSessionAsync(request, cancellationToken), tokenizer, text);

    private sealed class Session(IGenerationSession inner, ITokenizer tokenizer, Func<SampleRequest, int, string> text) : IGenerationSession
    {
        public IReadOnlyList<int> PromptIds => inner.PromptIds;

        public Task<IReadOnlyList<Candidate>> SampleAsync(SampleRequest request, Action<int, string>? onDelta, CancellationToken ct)
        {
            var result = new List<Candidate>();
            for (var i = 0; i < request.Seeds.Count; i++)
            {
                var newText = text(request, i);
                var newIds = tokenizer.EncodeUser(newText);
                onDelta?.Invoke(i, newText);
                var ids = request.Prefix.Concat(newIds).ToList();
                result.Add(new Candidate(ids, tokenizer.Decode(ids.Skip(PromptIds.Count), skipSpecialTokens: true), newText,
                    newIds.Count, StopReason.StopString));
            }
            return Task.FromResult<IReadOnlyList<Candidate>>(result);
        }

        public Task<Completion> CompleteAsync(CompletionRequest request, Action<string>? onDelta, CancellationToken ct) =>
            inner.CompleteAsync(request, onDelta, ct);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
