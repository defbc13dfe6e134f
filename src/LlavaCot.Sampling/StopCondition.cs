namespace LlavaCot.Sampling;

/// <summary>Why a generation ended.</summary>
public enum StopReason
{
    /// <summary>A stop string appeared in the decoded text (or the text ended with a period in sentence mode).</summary>
    StopString,

    /// <summary>An end-of-sequence token was produced.</summary>
    EndOfSequence,

    /// <summary>The max_new_tokens budget was used up.</summary>
    MaxTokens,
}

/// <summary>
/// When one generate call stops: any EOS id (unless <see cref="IgnoreEos"/>), after <see cref="MaxNewTokens"/>, or when
/// one of <see cref="StopStrings"/> occurs in the decoded sequence (prompt included, special tokens skipped), or, with
/// <see cref="StopAtPeriod"/>, when that text ends with '.'.
/// </summary>
public sealed record StopCondition(IReadOnlyList<string> StopStrings, int MaxNewTokens, bool StopAtPeriod = false, bool IgnoreEos = false)
{
    public const int DefaultMaxNewTokens = 2048;

    public static StopCondition EosOnly(int maxNewTokens = DefaultMaxNewTokens) => new([], maxNewTokens);
}
