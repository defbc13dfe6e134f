using LlavaCot.Model.Inputs;
using LlavaCot.Reasoning;

namespace LlavaCot.Runtime;

/// <summary>
/// One generated sequence's text as it streams, and its stop rule. The rule decides on what a full decode of the
/// prompt and every token so far shows (as the reference decodes the whole sequence after each token), including
/// text the stream still holds back: a held-back space after a period, or half a UTF-8 character, is not a stop.
/// </summary>
internal sealed class CandidateText(ITokenizer tokenizer, bool skipSpecialTokens, string promptText, StopCondition stop)
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
