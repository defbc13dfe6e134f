using System.Text.Json.Serialization;

namespace LlavaCot.Reasoning;

/// <summary>
/// The port through which the search uses a model. Implementations own tokenisation, the chat template, the image
/// and all tensors; the search sees token ids and text only.
/// </summary>
public interface ITextGenerator
{
    /// <summary>Prepares one request: decodes the image (if any) and renders the LLaVA-CoT prompt for the question.</summary>
    Task<IGenerationSession> OpenSessionAsync(SessionRequest request, CancellationToken cancellationToken);
}

/// <param name="Image">Encoded image bytes, or null for a text-only question.</param>
/// <param name="Date">The date text-only prompts carry; null: the generator's own setting, else today.</param>
public sealed record SessionRequest(ReadOnlyMemory<byte>? Image, string Question, DateOnly? Date = null)
{
    /// <summary>The image as the generator already decoded and checked it (before admission); null: decode <see cref="Image"/>.</summary>
    public PreparedImage? Prepared { get; init; }

    /// <summary>The conversation before the question, rendered into the answer's prompt (judge prompts ask the question alone).</summary>
    public IReadOnlyList<PriorTurn> History { get; init; } = [];
}

/// <summary>
/// An image a generator decoded and checked from a request's bytes before the request waited for the model (a bad
/// upload fails at once); the session then opens from it instead of decoding again. Opaque to the search.
/// </summary>
public abstract class PreparedImage;

/// <summary>
/// What a session's outputs depend on beyond the request and its seed: exact replay is promised only for the same
/// date in text-only prompts, compute dtype, device and CPU features.
/// </summary>
public sealed record SessionInfo(DateOnly Date, [property: JsonPropertyName("dtype")] string DType, string Device, string CpuFeatures);

/// <summary>The model work one request caused: vision tower passes and tokens run through prefill and decode.</summary>
/// <param name="PrefilledTokens">Prompt tokens run through prefill passes (a cached prefix is not run again).</param>
/// <param name="DecodedTokens">Tokens run through single-token decode passes, all candidates and judge replies.</param>
/// <param name="ImageCacheHits">1 when the image's features came from the shared image cache (no vision pass).</param>
/// <param name="ImageCacheMisses">1 when the image had to be encoded.</param>
/// <param name="ImageCacheEvictions">Other images' features freed to make room for this one's.</param>
/// <param name="PrefixCacheHits">Prompts that reused positions of the shared prefix cache (a stage, a judge call).</param>
/// <param name="PrefixCacheMisses">Prompts that found nothing to reuse and were prefilled whole.</param>
/// <param name="PrefixCacheEvictions">Cached prefixes freed to make room for this request's.</param>
public sealed record ModelCost(long VisionPasses, long PrefilledTokens, long DecodedTokens,
    long ImageCacheHits = 0, long ImageCacheMisses = 0, long ImageCacheEvictions = 0,
    long PrefixCacheHits = 0, long PrefixCacheMisses = 0, long PrefixCacheEvictions = 0)
{
    public static ModelCost operator +(ModelCost a, ModelCost b) => new(a.VisionPasses + b.VisionPasses,
        a.PrefilledTokens + b.PrefilledTokens, a.DecodedTokens + b.DecodedTokens,
        a.ImageCacheHits + b.ImageCacheHits, a.ImageCacheMisses + b.ImageCacheMisses, a.ImageCacheEvictions + b.ImageCacheEvictions,
        a.PrefixCacheHits + b.PrefixCacheHits, a.PrefixCacheMisses + b.PrefixCacheMisses, a.PrefixCacheEvictions + b.PrefixCacheEvictions);
}

/// <summary>One request's model state (prompt ids, the image's cached features).</summary>
public interface IGenerationSession : IAsyncDisposable
{
    /// <summary>The rendered prompt: the prefix every candidate's ids start with.</summary>
    IReadOnlyList<int> PromptIds { get; }

    /// <summary>What the outputs depend on besides the request (null where a test double has no model).</summary>
    SessionInfo? Info => null;

    /// <summary>The model work this session has caused so far (null where a test double has no model).</summary>
    ModelCost? Cost => null;

    /// <summary>
    /// Samples one continuation of <see cref="SampleRequest.Prefix"/> per seed, independently. Each candidate's
    /// text deltas are reported through <paramref name="onDelta"/> (candidate index, text).
    /// </summary>
    Task<IReadOnlyList<Candidate>> SampleAsync(SampleRequest request, Action<int, string>? onDelta, CancellationToken cancellationToken);

    /// <summary>Generates a reply to a fresh one-turn prompt (judge calls, the two-stage answer).</summary>
    Task<Completion> CompleteAsync(CompletionRequest request, Action<string>? onDelta, CancellationToken cancellationToken);

    /// <summary>Whether <see cref="CompleteManyAsync"/> runs its prompts as one batch (else one after another).</summary>
    bool BatchesCompletions => false;

    /// <summary>Several independent completions; each result is what <see cref="CompleteAsync"/> would give for its request.</summary>
    Task<IReadOnlyList<Completion>> CompleteManyAsync(IReadOnlyList<CompletionRequest> requests, CancellationToken cancellationToken) =>
        OneByOneAsync(this, requests, cancellationToken);

    /// <summary>
    /// The probability of each request's continuations as the reply to its prompt, without decoding: prefill only, all
    /// requests as one batch of work. A request's result does not depend on the others beside it.
    /// </summary>
    Task<IReadOnlyList<ScoreResult>> ScoreAsync(IReadOnlyList<ScoreRequest> requests, CancellationToken cancellationToken);

    /// <summary>The requests' completions one after another (what a session that does not batch does).</summary>
    static async Task<IReadOnlyList<Completion>> OneByOneAsync(IGenerationSession session, IReadOnlyList<CompletionRequest> requests,
        CancellationToken cancellationToken)
    {
        var results = new List<Completion>();
        foreach (var request in requests)
            results.Add(await session.CompleteAsync(request, null, cancellationToken));
        return results;
    }
}

/// <param name="Prefix">Token ids to continue: the prompt, then everything generated so far.</param>
/// <param name="Seeds">One RNG seed per candidate; their number is the number of candidates.</param>
public sealed record SampleRequest(IReadOnlyList<int> Prefix, IReadOnlyList<ulong> Seeds, StopCondition Stop, SamplingOptions Sampling)
{
    /// <summary>Record each new token's log-probability and this many alternatives (0..20); null (the default) records nothing.</summary>
    public int? TopLogProbs { get; init; }
}

/// <param name="Ids">The prefix plus this call's new tokens.</param>
/// <param name="Text">Everything generated after the prompt, decoded without special tokens.</param>
/// <param name="NewText">The text of this call's new tokens.</param>
public sealed record Candidate(IReadOnlyList<int> Ids, string Text, string NewText, int NewTokens, StopReason StopReason)
{
    /// <summary>This call's new tokens' log-probabilities, in order, where the request asked for them.</summary>
    public IReadOnlyList<TokenLogProb>? LogProbs { get; init; }
}

/// <param name="UserText">The user turn's text (tokenised as user text: never parsed into special tokens).</param>
/// <param name="WithImage">Put the session's image before the text; false renders the text-only template.</param>
/// <param name="KeepSpecialTokens">Decode the reply with special tokens (then drop &lt;|eot_id|&gt;), as the judge does.</param>
public sealed record CompletionRequest(
    string UserText, bool WithImage, StopCondition Stop, SamplingOptions Sampling, ulong Seed, bool KeepSpecialTokens = false)
{
    /// <summary>Record each token's log-probability and this many alternatives (0..20); null (the default) records nothing.</summary>
    public int? TopLogProbs { get; init; }
}

public sealed record Completion(string Text, int Tokens, StopReason StopReason)
{
    /// <summary>The reply's tokens' log-probabilities, in order, where the request asked for them.</summary>
    public IReadOnlyList<TokenLogProb>? LogProbs { get; init; }
}

/// <summary>
/// A prompt whose user turn is <paramref name="Instruction"/> then <paramref name="Candidate"/> (tokenised as user
/// text), and the replies whose probability is wanted, each read from the reply's first position. Prompts that score
/// several candidates share their instruction, which the model then prefills once: the candidate and the reply header
/// are what each adds.
/// </summary>
/// <param name="WithImage">Put the session's image before the text; false renders the text-only template.</param>
public sealed record ScoreRequest(string Instruction, string Candidate, bool WithImage, IReadOnlyList<string> Continuations)
{
    public string UserText => Instruction + Candidate;
}

/// <param name="TokenLogProbs">Per continuation, each of its tokens' log-probability given the prompt and the tokens
/// before it: the raw log-softmax of the model's logits (no temperature, no top-p).</param>
/// <param name="Tokens">Tokens the scoring ran through the model or found cached: the prompt and the continuations.</param>
public sealed record ScoreResult(IReadOnlyList<IReadOnlyList<double>> TokenLogProbs, int Tokens)
{
    /// <summary>The log-probability of continuation <paramref name="index"/> as a whole: the sum over its tokens.</summary>
    public double LogProb(int index) => TokenLogProbs[index].Sum();
}
