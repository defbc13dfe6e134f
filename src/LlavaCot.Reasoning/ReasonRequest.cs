using LlavaCot.Reasoning.Scoring;

namespace LlavaCot.Reasoning;

/// <summary>How a question is answered.</summary>
public enum ReasoningMode
{
    /// <summary>LLaVA-CoT's stage-level beam search (the default).</summary>
    StageBeam,

    /// <summary>N whole answers, knockout with judge type "all".</summary>
    BestOfN,

    /// <summary>Sentence by sentence, N candidates each, judge type "sentence".</summary>
    SentenceBeam,

    /// <summary>One answer, no judge.</summary>
    Single,

    /// <summary>Multimodal-CoT protocol: a rationale (stopped at &lt;/REASONING&gt;), then an answer prompted with it.</summary>
    TwoStage,

    /// <summary>The authors' SWIRES (§6): scored captions and reasonings, backtracking while the reasonings score low.</summary>
    Swires,

    /// <summary>N whole answers, a majority vote on the CONCLUSION; the scorer only breaks ties.</summary>
    SelfConsistency,

    /// <summary>N whole answers, each scored by the verifier; the answer with the most summed P(correct) wins.</summary>
    WeightedBestOfN,
}

/// <summary>The wire names of the modes (API fields, events, CLI options).</summary>
public static class ReasoningModes
{
    public static IReadOnlyDictionary<string, ReasoningMode> ByName { get; } = new Dictionary<string, ReasoningMode>(StringComparer.Ordinal)
    {
        ["stage_beam"] = ReasoningMode.StageBeam,
        ["best_of_n"] = ReasoningMode.BestOfN,
        ["sentence_beam"] = ReasoningMode.SentenceBeam,
        ["single"] = ReasoningMode.Single,
        ["two_stage"] = ReasoningMode.TwoStage,
        ["swires"] = ReasoningMode.Swires,
        ["self_consistency"] = ReasoningMode.SelfConsistency,
        ["weighted_best_of_n"] = ReasoningMode.WeightedBestOfN,
    };

    public static string Name(ReasoningMode mode) => ByName.First(m => m.Value == mode).Key;

    /// <summary>The message for a mode name that is none of these.</summary>
    public static string Unknown(string name) => $"'{name}' is not one of {string.Join(", ", ByName.Keys)}";
}

public sealed record ReasonOptions
{
    public const int MaxBeamSize = 16;
    public const int MaxTopLogProbs = 20;

    public ReasoningMode Mode { get; init; } = ReasoningMode.StageBeam;
    public int BeamSize { get; init; } = 2;

    /// <summary>What chooses among candidates; null: the mode's default (<see cref="Scorers.DefaultFor"/>).</summary>
    public ScorerKind? Scorer { get; init; }

    /// <summary>SWIRES goes on backtracking while its second-best reasoning scores at or below this; null: the model's setting.</summary>
    public double? SwiresCutoff { get; init; }
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Default;
    public int MaxNewTokens { get; init; } = StopCondition.DefaultMaxNewTokens;

    /// <summary>
    /// The answer's token budget, all stages together (OpenAI's max_completion_tokens): each stage may use what the
    /// earlier winners left, and the search ends when it is spent. Null: only each call's <see cref="MaxNewTokens"/>.
    /// </summary>
    public int? MaxAnswerTokens { get; init; }

    /// <summary>
    /// Strings that end the answer where they first appear in its text (OpenAI's stop): the search ends after the
    /// stage whose winner shows one; the endpoint cuts the text there.
    /// </summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Where the first of <see cref="StopStrings"/> begins in <paramref name="text"/>, or -1.</summary>
    public int StopAt(string text) =>
        StopStrings.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();

    /// <summary>Seed of every random choice in the search; null picks one (reported in the accepted event).</summary>
    public ulong? Seed { get; init; }

    /// <summary>
    /// The date text-only prompts carry (the chat template's "Today Date"); null: the server's setting, else today.
    /// Pinning it lets a request be replayed exactly later.
    /// </summary>
    public DateOnly? Date { get; init; }

    /// <summary>
    /// Record the answer's token log-probabilities with this many alternatives per token (0..<see cref="MaxTopLogProbs"/>;
    /// OpenAI's logprobs and top_logprobs); null (the default) records nothing.
    /// </summary>
    public int? TopLogProbs { get; init; }
}

/// <param name="Image">Encoded image bytes; null for a text-only question.</param>
/// <param name="Question">The last user turn's text: what the answer and the judge's prompts are about.</param>
public sealed record ReasonRequest(string RequestId, ReadOnlyMemory<byte>? Image, string Question, ReasonOptions Options)
{
    /// <summary><see cref="Image"/> as the server's generator decoded and checked it before admission (null: not yet).</summary>
    public PreparedImage? PreparedImage { get; init; }

    /// <summary>The conversation before the question (empty: the question alone, as LLaVA-CoT asks it).</summary>
    public IReadOnlyList<PriorTurn> History { get; init; } = [];
}

/// <summary>
/// A turn before the question: a system turn (first only), a user or an assistant turn. <paramref name="Image"/> marks
/// the user turn that showed the request's image; with none marked, the image belongs to the question.
/// </summary>
public sealed record PriorTurn(string Role, string Text, bool Image = false);
