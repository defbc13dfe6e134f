using System.Text.RegularExpressions;

namespace LlavaCot.Reasoning.Judging;

/// <summary>
/// What a candidate's text contributes to a judge prompt (§4.1): the part under comparison, and the hint taken from
/// the earlier stages. Regex groups are used unstripped, as in the reference.
/// </summary>
public sealed record JudgeExtraction(string Content, string? Hint)
{
    private static readonly Dictionary<string, Regex> Tags = new[] { "SUMMARY", "CAPTION", "REASONING", "CONCLUSION" }
        .ToDictionary(t => t, t => new Regex($"<{t}>(.*?)</{t}>", RegexOptions.Singleline | RegexOptions.CultureInvariant));

    /// <summary>The candidate's contribution, or null if it lacks what <paramref name="type"/> needs (tags, or a period).</summary>
    public static JudgeExtraction? From(JudgeType type, string text)
    {
        switch (type)
        {
            case JudgeType.All:
                return new JudgeExtraction(text, null);
            case JudgeType.Sentence:
                var parts = text.Split('.');
                if (parts.Length < 2)
                    return null;
                return new JudgeExtraction(parts[^2], parts.Length > 2 ? string.Join(' ', parts[..^2]) : null);
            case JudgeType.Summary:
                return Group(text, "SUMMARY") is { } summary ? new JudgeExtraction(summary, null) : null;
            case JudgeType.Caption:
                return Group(text, "CAPTION") is { } caption && Group(text, "SUMMARY") is not null
                    ? new JudgeExtraction(caption, null)
                    : null;
            case JudgeType.Reasoning:
                return Group(text, "REASONING") is { } reasoning && Group(text, "SUMMARY") is not null
                       && Group(text, "CAPTION") is { } hint
                    ? new JudgeExtraction(reasoning, hint)
                    : null;
            case JudgeType.Conclusion:
                return Group(text, "CONCLUSION") is { } conclusion && Group(text, "SUMMARY") is not null
                       && Group(text, "CAPTION") is { } captionHint && Group(text, "REASONING") is { } reasoningHint
                    ? new JudgeExtraction(conclusion, captionHint + reasoningHint)
                    : null;
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

    private static string? Group(string text, string tag) => Tags[tag].Match(text) is { Success: true } m ? m.Groups[1].Value : null;
}
