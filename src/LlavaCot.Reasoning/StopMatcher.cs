namespace LlavaCot.Reasoning;

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

    /// <summary>Adds newly decoded text; true when the sequence should stop.</summary>
    public bool Append(string delta)
    {
        _text.Append(delta);
        if (_stopAtPeriod && _text.Length > 0 && _text[^1] == '.')
            return true;
        var longest = _stops.Count == 0 ? 0 : _stops.Max(s => s.Length);
        var from = Math.Max(0, _searchedTo - longest + 1);
        var window = _text.ToString(from, _text.Length - from);
        ScannedCharacters += window.Length;
        _searchedTo = _text.Length;
        return _stops.Any(s => window.Contains(s, StringComparison.Ordinal));
    }
}
