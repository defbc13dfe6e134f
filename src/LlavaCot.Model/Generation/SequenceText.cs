using LlavaCot.Model.Inputs;

namespace LlavaCot.Model.Generation;

/// <summary>
/// One generated sequence's text as it streams, and its stop strings. The rule decides on what a full decode of the
/// prompt and every token so far shows (as the reference decodes the whole sequence after each token), including
/// text the stream still holds back: a held-back space after a period, or half a UTF-8 character, is not a stop.
/// </summary>
public sealed class SequenceText(ITokenizer tokenizer, bool skipSpecialTokens, string promptText, StopRule stop)
{
    private readonly StreamingDecoder _decoder = new(tokenizer, skipSpecialTokens);
    private readonly StopMatcher _matcher = new(promptText, stop.StopStrings, stop.StopAtPeriod);

    /// <summary>Feeds a token: the text it releases, and whether a stop string (or the period) now ends the sequence.</summary>
    public (string Delta, bool Stop) Add(int token)
    {
        var delta = _decoder.Add(token);
        return (delta, _matcher.IsActive && _matcher.Append(delta, _decoder.Tail));
    }

    /// <summary>Ends the sequence: the text still held back.</summary>
    public string Flush() => _decoder.Flush();
}
