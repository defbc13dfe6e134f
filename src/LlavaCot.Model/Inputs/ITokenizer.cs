namespace LlavaCot.Model.Inputs;

/// <summary>
/// Text ↔ token ids for one checkpoint. There are two ways in: text the server renders itself (a chat template)
/// may contain special-token strings and they become special ids; text a user sent never does, so a question
/// that contains <c>&lt;|eot_id|&gt;</c> cannot end a turn or forge an image slot.
/// </summary>
public interface ITokenizer
{
    /// <summary>Number of ids, added special tokens included (HF's <c>len(tokenizer)</c>).</summary>
    int VocabularySize { get; }

    /// <summary>Special tokens by their text (HF's added tokens).</summary>
    IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>The tokenizer files' <c>clean_up_tokenization_spaces</c>; <see cref="Decode"/> honours it by default.</summary>
    bool CleanUpTokenizationSpaces { get; }

    int? BosTokenId { get; }

    int? EosTokenId { get; }

    int? PadTokenId { get; }

    /// <summary>
    /// Encodes a rendered prompt the way HF encodes the joined text (pre-tokenization runs across segment
    /// boundaries, so "\n\n" + a question that starts with a newline gives HF's ids), except that special tokens
    /// come only from Special and Template segments: a User segment is always plain text. A Special segment whose
    /// token this tokenizer lacks is its literal text.
    /// </summary>
    IReadOnlyList<int> Encode(IEnumerable<PromptSegment> segments);

    /// <summary>Encodes server-rendered text: special-token strings in it become their special ids. No BOS is added.</summary>
    IReadOnlyList<int> EncodeTemplate(string text);

    /// <summary>Encodes text from a user: the result never holds a special id, whatever the text contains.</summary>
    IReadOnlyList<int> EncodeUser(string text);

    /// <summary>
    /// HF's <c>decode</c>: the tokens' bytes joined and read as UTF-8 (invalid sequences → U+FFFD), then
    /// tokenization spaces cleaned up when <paramref name="cleanUpTokenizationSpaces"/> (default: the files' flag)
    /// says so. Ids the tokenizer does not know decode to nothing, as in HF.
    /// </summary>
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null);

    /// <summary>The id of a special token by its text, or null when this tokenizer lacks it.</summary>
    int? SpecialTokenId(string token);

    bool IsSpecial(int id);

    /// <summary>The bytes one id stands for (a special token's text as UTF-8); empty for an unknown id, an error for a negative one.</summary>
    ReadOnlySpan<byte> TokenBytes(int id);
}
