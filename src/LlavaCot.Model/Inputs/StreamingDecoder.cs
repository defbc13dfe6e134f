using System.Text;

namespace LlavaCot.Model.Inputs;

/// <summary>
/// Decodes generated ids one at a time into text deltas whose concatenation equals
/// <see cref="ITokenizer.Decode"/> of all ids with the same settings. Work per id is proportional to the new text:
/// token bytes go through one stateful UTF-8 decoder, which keeps an incomplete multi-byte sequence back until
/// its last byte arrives (the full decode would show it as U+FFFD only if it never completes; <see cref="Flush"/>
/// emits that U+FFFD at the end, exactly as the full decode does).
/// <para>
/// Clean-up of tokenization spaces looks across token boundaries (" ." becomes "." only once the "." arrives),
/// so with clean-up on, the stream also holds back a short tail that a later rule could still change and
/// cleans each released chunk on its own; <see cref="TokenizationCleanUp.IsSafeSplit"/> proves that this equals
/// cleaning the whole text. The tail is a run of spaces, apostrophes, n, v and r, usually one or two characters.
/// </para>
/// </summary>
public sealed class StreamingDecoder
{
    private readonly ITokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly bool _cleanUp;
    private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private readonly StringBuilder _pending = new();
    private char[] _chars = new char[64];

    /// <param name="tokenizer">The tokenizer whose ids are fed.</param>
    /// <param name="skipSpecialTokens">Drop special tokens, as <see cref="ITokenizer.Decode"/> would.</param>
    /// <param name="cleanUpTokenizationSpaces">Clean up as the full decode would; null: the tokenizer's flag.</param>
    public StreamingDecoder(ITokenizer tokenizer, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
        _cleanUp = cleanUpTokenizationSpaces ?? tokenizer.CleanUpTokenizationSpaces;
    }

    /// <summary>Feeds one id; returns the text that is now final (often empty while a character is incomplete).</summary>
    public string Add(int id)
    {
        if (_skipSpecialTokens && _tokenizer.IsSpecial(id))
            return "";
        var bytes = _tokenizer.TokenBytes(id);
        if (bytes.IsEmpty)
            return "";
        var needed = _utf8.GetCharCount(bytes, flush: false);
        if (_chars.Length < needed)
            _chars = new char[Math.Max(needed, _chars.Length * 2)];
        var count = _utf8.GetChars(bytes, _chars, flush: false);
        _pending.Append(_chars, 0, count);
        return Release(final: false);
    }

    /// <summary>
    /// What a full decode of the ids so far shows after the text released so far: the held-back tail, cleaned up,
    /// then U+FFFD for an incomplete UTF-8 sequence. A decision on the whole text (a stop rule) needs it: the released
    /// text alone can still end with a period that a held-back space already follows.
    /// </summary>
    public string Tail
    {
        get
        {
            // GetCharCount leaves the decoder's state alone: it only counts what a flush would emit now.
            var incomplete = _utf8.GetCharCount([], flush: true);
            if (_pending.Length == 0 && incomplete == 0)
                return "";
            var tail = _pending.ToString();
            return (_cleanUp ? TokenizationCleanUp.Apply(tail) : tail) + new string('\uFFFD', incomplete);
        }
    }

    /// <summary>Ends the sequence: returns everything held back (an incomplete character becomes U+FFFD).</summary>
    public string Flush()
    {
        var count = _utf8.GetChars([], _chars, flush: true);
        _pending.Append(_chars, 0, count);
        return Release(final: true);
    }

    private string Release(bool final)
    {
        var split = _pending.Length;
        if (_cleanUp && !final)
        {
            var text = _pending.ToString();
            while (split > 0 && !TokenizationCleanUp.IsSafeSplit(text, split))
                split--;
        }
        if (split == 0)
            return "";
        var released = _pending.ToString(0, split);
        _pending.Remove(0, split);
        return _cleanUp ? TokenizationCleanUp.Apply(released) : released;
    }
}
