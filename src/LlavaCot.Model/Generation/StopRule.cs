namespace LlavaCot.Model.Generation;

/// <summary>
/// When one sequence stops: its request's <paramref name="Condition"/> with the end-of-sequence ids resolved to the
/// model's <paramref name="Eos"/> (empty: never).
/// </summary>
public sealed record StopRule(IReadOnlySet<int> Eos, StopCondition Condition)
{
    public int MaxNewTokens => Condition.MaxNewTokens;
    public IReadOnlyList<string> StopStrings => Condition.StopStrings;
    public bool StopAtPeriod => Condition.StopAtPeriod;

    /// <summary>The condition against the model's EOS ids (none where it ignores them).</summary>
    public static StopRule Of(StopCondition condition, IReadOnlySet<int> eos) =>
        new(condition.IgnoreEos ? new HashSet<int>() : eos, condition);

    /// <summary>Exactly <paramref name="tokens"/> new tokens, whatever they are.</summary>
    public static StopRule Length(int tokens) => new(new HashSet<int>(), new StopCondition([], tokens, IgnoreEos: true));

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
public sealed record SequenceSpec(SamplingOptions Sampler, Func<double> Uniform, StopRule Stop, string PromptText = "", bool SkipSpecialTokens = true,
    int? TopLogProbs = null);

/// <summary>One generated continuation: its new ids and why it stopped.</summary>
/// <param name="LogProbs">Each new token's log-probabilities, where its spec asked for them.</param>
public sealed record GeneratedSequence(IReadOnlyList<int> NewIds, StopReason Reason, IReadOnlyList<SampledLogProbs>? LogProbs = null)
{
    /// <summary>The new tokens' text as it was released while decoding (null where the job had no tokenizer).</summary>
    public string? Text { get; init; }
}
