using System.Text.RegularExpressions;

namespace LlavaCot.Reasoning;

/// <summary>LLaVA-CoT's stages and how an answer's parts are read.</summary>
public static class Answers
{
    /// <summary>The four stages in order: name (= judge type), opening and closing tag.</summary>
    public static IReadOnlyList<(string Name, string Open, string Close)> Stages { get; } =
    [
        ("summary", "<SUMMARY>", "</SUMMARY>"),
        ("caption", "<CAPTION>", "</CAPTION>"),
        ("reasoning", "<REASONING>", "</REASONING>"),
        ("conclusion", "<CONCLUSION>", "</CONCLUSION>"),
    ];

    public const string ConclusionEnd = "</CONCLUSION>";
    public const string ReasoningEnd = "</REASONING>";

    private static readonly Regex ConclusionPattern = new("<CONCLUSION>(.*?)</CONCLUSION>", RegexOptions.Singleline | RegexOptions.CultureInvariant);

    /// <summary>What the model card scores: the text inside the CONCLUSION tags, trimmed; without the closing tag, what follows the opening one; without tags, everything.</summary>
    public static string Conclusion(string text)
    {
        var m = ConclusionPattern.Match(text);
        if (m.Success)
            return m.Groups[1].Value.Trim();
        var open = text.IndexOf("<CONCLUSION>", StringComparison.Ordinal);
        return (open >= 0 ? text[(open + "<CONCLUSION>".Length)..] : text).Trim();
    }

    /// <summary>
    /// An answer as reasoning clients read it: everything before the CONCLUSION (its stages, tags kept), and the
    /// conclusion's text alone (trimmed, no tags), empty unless the CONCLUSION is complete.
    /// </summary>
    public static (string Reasoning, string Content, bool Concluded) Split(string text)
    {
        var (reasoning, content, concluded) = SplitRanges(text);
        return (text[reasoning], text[content], concluded);
    }

    /// <summary>
    /// Where <see cref="Split"/>'s parts lie in <paramref name="text"/>: the reasoning (from the start, trailing white
    /// space left out) and the content (the CONCLUSION's text, trimmed; empty unless the CONCLUSION is complete).
    /// </summary>
    public static (Range Reasoning, Range Content, bool Concluded) SplitRanges(string text)
    {
        var open = text.IndexOf("<CONCLUSION>", StringComparison.Ordinal);
        var end = open >= 0 ? open : text.Length;
        while (end > 0 && char.IsWhiteSpace(text[end - 1]))
            end--;
        var m = ConclusionPattern.Match(text, Math.Max(open, 0));
        if (!m.Success || open < 0)
            return (0..end, 0..0, false);
        var (from, to) = (m.Groups[1].Index, m.Groups[1].Index + m.Groups[1].Length);
        while (from < to && char.IsWhiteSpace(text[from]))
            from++;
        while (to > from && char.IsWhiteSpace(text[to - 1]))
            to--;
        return (0..end, from..to, true);
    }
}
