namespace LlavaCot.Model.Inputs;

/// <summary>
/// Finds special-token strings in template text the way HF's added-vocabulary split does: scanning left to right,
/// at each position the longest special token that starts there wins; the text between them is ordinary text.
/// </summary>
internal sealed class SpecialTokenSplitter
{
    private readonly Dictionary<char, (string Text, int Id)[]> _byFirstChar;

    public SpecialTokenSplitter(IReadOnlyDictionary<string, int> specials)
    {
        _byFirstChar = specials
            .Where(s => s.Key.Length > 0)
            .GroupBy(s => s.Key[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(s => s.Key.Length).Select(s => (s.Key, s.Value)).ToArray());
    }

    /// <summary>Calls <paramref name="ordinary"/> for each run of ordinary text and <paramref name="special"/> for each special token, in order.</summary>
    public void Split(string text, Action<string> ordinary, Action<int> special)
    {
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (!_byFirstChar.TryGetValue(text[i], out var candidates))
                continue;
            foreach (var (token, id) in candidates)
            {
                if (!text.AsSpan(i).StartsWith(token, StringComparison.Ordinal))
                    continue;
                if (i > start)
                    ordinary(text[start..i]);
                special(id);
                start = i + token.Length;
                i = start - 1;
                break;
            }
        }
        if (start < text.Length)
            ordinary(text[start..]);
    }
}
