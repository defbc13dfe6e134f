using System.Text.RegularExpressions;
using LlavaCot.Reasoning;

namespace LlavaCot.Training.Eval;

/// <summary>How answers and their stages are graded.</summary>
public static partial class Grading
{
    [GeneratedRegex(@"^\s*<SUMMARY>.*?</SUMMARY>\s*<CAPTION>.*?</CAPTION>\s*<REASONING>.*?</REASONING>\s*<CONCLUSION>.*?</CONCLUSION>\s*$", RegexOptions.Singleline)]
    private static partial Regex WellFormed();

    [GeneratedRegex(@"\b(small|large) (red|green|blue|yellow) (circle|square|triangle)\b")]
    private static partial Regex ShapePhrase();

    /// <summary>All four stages, each tagged once, in order, with nothing outside them.</summary>
    public static bool TagsOk(string text) => WellFormed().IsMatch(text);

    /// <summary>The text inside <paramref name="tag"/>'s tags, or null.</summary>
    public static string? Group(string text, string tag)
    {
        var m = Regex.Match(text, $"<{tag}>(.*?)</{tag}>", RegexOptions.Singleline);
        return m.Success ? m.Groups[1].Value : null;
    }

    /// <summary>A caption lists exactly the reference caption's shapes (size, colour and kind; as a multiset).</summary>
    public static bool CaptionRight(string caption, string referenceCaption) =>
        Phrases(caption).SequenceEqual(Phrases(referenceCaption));

    private static IEnumerable<string> Phrases(string caption) => ShapePhrase().Matches(caption).Select(m => m.Value).Order(StringComparer.Ordinal);

    /// <summary>A reasoning derives the right value: its last sentence states one of the accepted answers as a word.</summary>
    public static bool ReasoningRight(string reasoning, EvalItem item)
    {
        var sentences = reasoning.Trim().TrimEnd('.').Split('.');
        var last = sentences[^1];
        return item.Accept.Any(a => Regex.IsMatch(last, $@"(?<![\w]){Regex.Escape(a.Trim())}(?![\w])", RegexOptions.IgnoreCase));
    }

    /// <summary>Whether a stage candidate is right, for the judge agreement of that stage; null where there is no criterion.</summary>
    public static bool? StageRight(string stage, string candidateText, EvalItem item) => stage switch
    {
        "caption" when item.Reference is not null && Group(item.Reference, "CAPTION") is { } reference
            => Group(candidateText, "CAPTION") is { } caption && CaptionRight(caption, reference),
        "reasoning" => Group(candidateText, "REASONING") is { } reasoning && ReasoningRight(reasoning, item),
        "conclusion" => Group(candidateText, "CONCLUSION") is { } conclusion && item.IsCorrect(conclusion),
        "answer" => item.IsCorrect(Answers.Conclusion(candidateText)),
        _ => null,
    };
}
