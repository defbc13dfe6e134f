using LlavaCot.Model.Generation;
using LlavaCot.Model.Inputs;
using LlavaCot.Reasoning;

namespace LlavaCot.Runtime;

/// <summary>The port's records (Reasoning's) in the engine's terms and back: score specs, completions, log-probabilities, costs.</summary>
internal static class PortMapping
{
    private static readonly string[] JudgeNoise = ["<|eot_id|>", "<|endoftext|>"];

    public static ModelCost Cost(WorkCost c) => new(c.VisionPasses, c.PrefilledTokens, c.DecodedTokens, c.ImageCacheHits, c.ImageCacheMisses,
        c.ImageCacheEvictions, c.PrefixCacheHits, c.PrefixCacheMisses, c.PrefixCacheEvictions);

    /// <summary>
    /// A score request's prompt, tokenised; its shared part is the instruction's tokens, as far as the prompt without the
    /// candidate agrees (a word may join across the boundary).
    /// </summary>
    public static ScoreSpec Score(ITokenizer tokenizer, ScoreRequest r, bool withImage, Func<string, bool, IReadOnlyList<PromptSegment>> prompt)
    {
        var ids = tokenizer.Encode(prompt(r.UserText, withImage));
        var shared = Math.Clamp(PrefixCache.CommonPrefix(tokenizer.Encode(prompt(r.Instruction, withImage)), ids), 1, ids.Count - 1);
        return new ScoreSpec(ids, shared, r.Continuations.Select(tokenizer.EncodeUser).ToList(), withImage);
    }

    /// <summary>
    /// Candidates forked from <paramref name="prefix"/>: the text of the stages after the answer's prompt (its first
    /// <paramref name="promptLength"/> ids), decoded once per call, before each candidate's text as the engine released it.
    /// </summary>
    public static IReadOnlyList<Candidate> Candidates(ITokenizer tokenizer, IReadOnlyList<int> prefix, int promptLength,
        IReadOnlyList<GeneratedSequence> sequences)
    {
        var before = tokenizer.Decode(prefix.Skip(promptLength), skipSpecialTokens: true);
        return sequences.Select(s => new Candidate(prefix.Concat(s.NewIds).ToList(), before + s.Text, s.Text!, s.NewIds.Count, s.Reason)
        {
            LogProbs = LogProbs(tokenizer, s.LogProbs),
        }).ToList();
    }

    /// <summary>A decoded reply; with special tokens kept (the judge's decoding), the end-of-turn tokens are dropped.</summary>
    public static Completion Completion(ITokenizer tokenizer, CompletionRequest request, GeneratedSequence generated)
    {
        var text = request.KeepSpecialTokens ? JudgeNoise.Aggregate(generated.Text!, (t, noise) => t.Replace(noise, "", StringComparison.Ordinal)) : generated.Text!;
        return new Completion(text, generated.NewIds.Count, generated.Reason) { LogProbs = LogProbs(tokenizer, generated.LogProbs) };
    }

    /// <summary>Each token decoded on its own (a piece of a UTF-8 character shows as U+FFFD) with its own bytes, as OpenAI reports them.</summary>
    public static IReadOnlyList<TokenLogProb>? LogProbs(ITokenizer tokenizer, IReadOnlyList<SampledLogProbs>? steps)
    {
        string Text(int id) => tokenizer.Decode([id], skipSpecialTokens: false, cleanUpTokenizationSpaces: false);
        return steps?.Select(s => new TokenLogProb(s.Token, Text(s.Token), s.LogProb, tokenizer.TokenBytes(s.Token).ToArray(),
            s.TopIds.Select((id, k) => new TopLogProb(id, Text(id), s.TopLogProbs[k], tokenizer.TokenBytes(id).ToArray())).ToList())).ToList();
    }
}
