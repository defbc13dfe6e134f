namespace LlavaCot.Model.Generation;

/// <summary>
/// The reference's stop-string rule made incremental: after each token it looks for a stop string in the whole
/// decoded sequence (prompt included), but only where a new occurrence can be, so a step costs O(new text).
/// </summary>
public sealed class StopMatcher
{
    private readonly IReadOnlyList<string> _stops;
    private readonly bool _stopAtPeriod;
    private readonly System.Text.StringBuilder _text;
    private int _searchedTo;

    /// <summary>Characters examined so far (for tests of the per-step cost).</summary>
    internal long ScannedCharacters { get; private set; }

    /// <param name="promptText">The decoded prompt: a stop string already there stops after the first token, as in the reference.</param>
    public StopMatcher(string promptText, IReadOnlyList<string> stops, bool stopAtPeriod)
    {
        _stops = stops.Where(s => s.Length > 0).ToList();
        _stopAtPeriod = stopAtPeriod;
        _text = new System.Text.StringBuilder(promptText);
    }

    public bool IsActive => _stops.Count > 0 || _stopAtPeriod;

    /// <summary>
    /// Adds newly released text; true when the sequence should stop. <paramref name="tail"/> is what the full decode
    /// currently shows beyond the released text (held back by a streaming decoder): the decision is made on the
    /// whole text, as the reference makes it, but only released text is kept.
    /// </summary>
    public bool Append(string delta, string tail = "")
    {
        _text.Append(delta);
        if (_stopAtPeriod && EndsWithPeriod(tail))
            return true;
        var longest = _stops.Count == 0 ? 0 : _stops.Max(s => s.Length);
        var from = Math.Max(0, _searchedTo - longest + 1);
        var window = _text.ToString(from, _text.Length - from) + tail;
        ScannedCharacters += window.Length;
        _searchedTo = _text.Length;
        return _stops.Any(s => window.Contains(s, StringComparison.Ordinal));
    }

    private bool EndsWithPeriod(string tail) => tail.Length > 0 ? tail[^1] == '.' : _text.Length > 0 && _text[^1] == '.';
}
