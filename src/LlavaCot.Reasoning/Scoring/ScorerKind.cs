namespace LlavaCot.Reasoning.Scoring;

/// <summary>What chooses among a search's candidates.</summary>
public enum ScorerKind
{
    /// <summary>No scorer: the mode makes no choice (single, two-stage).</summary>
    None,

    /// <summary>LLaVA-CoT's reference judge: pairwise prompts in a knockout, with the reasoning stage's pre-checks.</summary>
    Pairwise,

    /// <summary>Each candidate on its own: the probability of the reply "correct" to a verification prompt, no decoding.</summary>
    Verifier,
}

/// <summary>The scorers' wire names and which modes take which.</summary>
public static class Scorers
{
    public static IReadOnlyDictionary<string, ScorerKind> ByName { get; } = new Dictionary<string, ScorerKind>(StringComparer.Ordinal)
    {
        ["none"] = ScorerKind.None,
        ["pairwise"] = ScorerKind.Pairwise,
        ["verifier"] = ScorerKind.Verifier,
    };

    public static string Name(ScorerKind scorer) => ByName.First(s => s.Value == scorer).Key;

    /// <summary>The message for a scorer name that is none of these.</summary>
    public static string Unknown(string name) => $"'{name}' is not one of {string.Join(", ", ByName.Keys)}";

    /// <summary>The scorers <paramref name="mode"/> takes, its default first.</summary>
    public static IReadOnlyList<ScorerKind> For(ReasoningMode mode) => mode switch
    {
        ReasoningMode.StageBeam or ReasoningMode.BestOfN => [ScorerKind.Pairwise, ScorerKind.Verifier],
        ReasoningMode.SentenceBeam => [ScorerKind.Pairwise],
        ReasoningMode.Swires or ReasoningMode.WeightedBestOfN => [ScorerKind.Verifier],
        // The vote decides; a scorer only breaks ties, and the verifier does it without decoding.
        ReasoningMode.SelfConsistency => [ScorerKind.Verifier, ScorerKind.Pairwise],
        ReasoningMode.Single or ReasoningMode.TwoStage => [ScorerKind.None],
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    public static ScorerKind DefaultFor(ReasoningMode mode) => For(mode)[0];

    /// <summary>The scorer a request runs with: its own, else its mode's default.</summary>
    public static ScorerKind Of(ReasonOptions options) => options.Scorer ?? DefaultFor(options.Mode);
}
