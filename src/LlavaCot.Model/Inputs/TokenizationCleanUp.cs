namespace LlavaCot.Model.Inputs;

/// <summary>
/// HF transformers 4.45 <c>clean_up_tokenization</c>: ten plain replacements applied one after another to the whole
/// decoded text. The order matters (an earlier replacement can create a match for a later one), so it is kept.
/// </summary>
public static class TokenizationCleanUp
{
    private static readonly (string From, string To)[] Rules =
    [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
        (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ];

    public static string Apply(string text)
    {
        if (!text.Contains(' '))
            return text;
        foreach (var (from, to) in Rules)
            text = text.Replace(from, to, StringComparison.Ordinal);
        return text;
    }

    /// <summary>
    /// Whether Apply(text[..k] + rest) == Apply(text[..k]) + Apply(rest) for every possible rest, judged from the
    /// characters before k only. Every rule starts with a space, only deletes spaces, and every proper prefix of a
    /// rule ends in one of <c> '</c>, <c>n</c>, <c>v</c>, <c>r</c> or a space. So no match can straddle k when the
    /// character before k is none of those, or when the last three characters before k hold no space (rules are at
    /// most four characters long and those characters are never deleted). A split found safe stays safe however
    /// much text comes before it, which lets a stream clean up chunk by chunk.
    /// </summary>
    public static bool IsSafeSplit(ReadOnlySpan<char> text, int k)
    {
        if (k <= 0)
            return k == 0;
        if (text[k - 1] is not (' ' or '\'' or 'n' or 'v' or 'r'))
            return true;
        return k >= 3 && !text[(k - 3)..k].Contains(' ');
    }
}
