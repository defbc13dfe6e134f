namespace LlavaCot.Model.Generation;

/// <summary>Why a generated sequence ended.</summary>
public enum FinishReason
{
    /// <summary>A stop string appeared in the decoded text (or it ended with a period, where that stops).</summary>
    StopString,

    /// <summary>An end-of-sequence token was produced.</summary>
    EndOfSequence,

    /// <summary>The new-token budget was used up.</summary>
    MaxTokens,
}

/// <summary>
/// When one sequence stops: on a token of <paramref name="Eos"/> (empty: never), after <paramref name="MaxNewTokens"/>,
/// or when one of <paramref name="StopStrings"/> occurs in its decoded text (prompt included), or, with
/// <paramref name="StopAtPeriod"/>, when that text ends with '.'.
/// </summary>
public sealed record StopRule(IReadOnlySet<int> Eos, int MaxNewTokens, IReadOnlyList<string> StopStrings, bool StopAtPeriod = false)
{
    /// <summary>Exactly <paramref name="tokens"/> new tokens, whatever they are.</summary>
    public static StopRule Length(int tokens) => new(new HashSet<int>(), tokens, []);

    /// <summary>Whether the rule reads the decoded text (then a tokenizer is needed).</summary>
    public bool NeedsText => StopStrings.Count > 0 || StopAtPeriod;
}

/// <summary>
/// One sequence to generate: how its tokens are drawn (<paramref name="Sampler"/> with its own uniform source, so a
/// row's draws never depend on the other rows) and when it stops.
/// </summary>
/// <param name="PromptText">Its prefix decoded without special tokens: the stop rule searches it too, as the reference does.</param>
/// <param name="SkipSpecialTokens">Whether its streamed text leaves special tokens out.</param>
/// <param name="TopLogProbs">Record each token's raw log-probability and this many alternatives (0..<see cref="SampledLogProbs.MaxTop"/>);
/// null records nothing.</param>
public sealed record SequenceSpec(SamplerSettings Sampler, Func<double> Uniform, StopRule Stop, string PromptText = "", bool SkipSpecialTokens = true,
    int? TopLogProbs = null);

/// <summary>One generated continuation: its new ids and why it stopped.</summary>
/// <param name="LogProbs">Each new token's log-probabilities, where its spec asked for them.</param>
public sealed record GeneratedSequence(IReadOnlyList<int> NewIds, FinishReason Reason, IReadOnlyList<SampledLogProbs>? LogProbs = null);
