using System.Text;
using System.Text.Json.Serialization;
using LlavaCot.Model.Inputs;
using LlavaCot.Reasoning;

namespace LlavaCot.Server.OpenAi;

/// <summary>
/// OpenAI's choice.logprobs: the log-probabilities of the tokens of content, and (LlavaCot's extra, as vLLM adds for
/// reasoning models) of reasoning_content. Streamed, each chunk's are those of the tokens whose text it carries.
/// </summary>
/// <param name="Content">The tokens of content, in order.</param>
/// <param name="ReasoningContent">The tokens of reasoning_content, in order (split format only).</param>
/// <param name="Refusal">Always null: the model never refuses.</param>
public sealed record ChatLogprobs(
    IReadOnlyList<ChatTokenLogprob> Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ChatTokenLogprob>? ReasoningContent,
    IReadOnlyList<ChatTokenLogprob>? Refusal = null);

/// <param name="Token">The token decoded on its own (a piece of a UTF-8 character shows as U+FFFD).</param>
/// <param name="Logprob">The raw log-probability: the log-softmax of the model's logits, before temperature, top_k and top_p.</param>
/// <param name="Bytes">The token's UTF-8 bytes.</param>
/// <param name="TopLogprobs">The step's most likely tokens, best first (top_logprobs of them).</param>
public sealed record ChatTokenLogprob(string Token, double Logprob, IReadOnlyList<int> Bytes, IReadOnlyList<ChatTopLogprob> TopLogprobs);

/// <param name="Token">The token decoded on its own.</param>
/// <param name="Logprob">Its raw log-probability at that step.</param>
/// <param name="Bytes">The token's UTF-8 bytes.</param>
public sealed record ChatTopLogprob(string Token, double Logprob, IReadOnlyList<int> Bytes);

/// <summary>
/// Which field of a chat answer each of its tokens goes to. Each token's place is its span of characters in the
/// answer: the text the tokens before it decode to, then its own (a token that leaves a UTF-8 character unfinished
/// shares that character with the tokens that finish it; spaces the decode cleans up are nobody's).
/// <para>
/// The boundary rule: a token goes to the field whose text its span overlaps (reasoning_content: the stages before
/// the CONCLUSION, tags kept; content: the CONCLUSION's text alone, trimmed). A token that overlaps neither is left out:
/// the &lt;CONCLUSION&gt; and &lt;/CONCLUSION&gt; tags, the white space the split trims away, a special token such as
/// &lt;|eot_id|&gt; that adds no text, anything past a stop string. A token that overlaps both (one token across the
/// whole &lt;CONCLUSION&gt; tag) goes to the reasoning, where it starts. Tagged (no split): content is the whole answer,
/// so only tokens that add no text or lie past a stop string are left out.
/// </para>
/// </summary>
internal static class AnswerTokens
{
    public enum Field { None, Reasoning, Content }

    /// <summary>The field of each of <paramref name="tokens"/>, which decode to <paramref name="answer"/> (cut at a stop string or not).</summary>
    public static Field[] Assign(string answer, IReadOnlyList<TokenLogProb> tokens, bool split, Func<int, bool> isSpecial, bool cleanUp)
    {
        var (reasoning, content, _) = split ? Answers.SplitRanges(answer) : (0..0, 0..answer.Length, true);
        var spans = Spans(tokens, isSpecial, cleanUp);
        return spans.Select(s => Overlaps(s, reasoning, answer.Length) ? Field.Reasoning
            : Overlaps(s, content, answer.Length) ? Field.Content
            : Field.None).ToArray();
    }

    private static bool Overlaps((int Start, int End) span, Range field, int length)
    {
        var (start, count) = field.GetOffsetAndLength(length);
        return span.End > span.Start && span.Start < start + count && span.End > start;
    }

    /// <summary>
    /// Each token's [start, end) in the text the tokens decode to, as the tokenizer decodes without special tokens:
    /// their bytes read as UTF-8 (invalid sequences as U+FFFD), then tokenization spaces cleaned up where
    /// <paramref name="cleanUp"/>.
    /// </summary>
    public static (int Start, int End)[] Spans(IReadOnlyList<TokenLogProb> tokens, Func<int, bool> isSpecial, bool cleanUp)
    {
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
        var raw = new StringBuilder();
        var spans = new (int Start, int End)[tokens.Count];
        for (var i = 0; i < tokens.Count; i++)
        {
            var start = raw.Length;
            if (isSpecial(tokens[i].Id) || tokens[i].Bytes.Length == 0)
            {
                spans[i] = (start, start);
                continue;
            }
            raw.Append(Chars(utf8, tokens[i].Bytes, flush: false));
            // Bytes held back for an unfinished character: that character, next in the text, is partly this token's.
            var pending = utf8.GetCharCount([], flush: true) > 0 ? 1 : 0;
            spans[i] = (start, raw.Length + pending);
        }
        raw.Append(Chars(utf8, [], flush: true));
        var text = raw.ToString();
        var map = CleanedPositions(text, cleanUp ? TokenizationCleanUp.Apply(text) : text);
        return spans.Select(s => (map[Math.Min(s.Start, text.Length)], map[Math.Min(s.End, text.Length)])).ToArray();
    }

    private static char[] Chars(Decoder utf8, byte[] bytes, bool flush)
    {
        var chars = new char[utf8.GetCharCount(bytes, flush)];
        utf8.GetChars(bytes, chars, flush);
        return chars;
    }

    /// <summary>Where each position of <paramref name="raw"/> lands in <paramref name="cleaned"/>, which is it with some spaces deleted.</summary>
    private static int[] CleanedPositions(string raw, string cleaned)
    {
        var map = new int[raw.Length + 1];
        var j = 0;
        for (var k = 0; k < raw.Length; k++)
        {
            map[k] = j;
            if (j < cleaned.Length && raw[k] == cleaned[j])
                j++;
        }
        map[raw.Length] = j;
        return map;
    }

    /// <summary>A token in OpenAI's shape; log-probabilities below -9999 (-inf included, which JSON cannot carry) are -9999, as OpenAI and vLLM report them.</summary>
    public static ChatTokenLogprob ToChat(TokenLogProb t) =>
        new(t.Token, Floor(t.LogProb), Ints(t.Bytes), t.Top.Select(a => new ChatTopLogprob(a.Token, Floor(a.LogProb), Ints(a.Bytes))).ToList());

    private static double Floor(double logProb) => Math.Max(logProb, -9999.0);

    private static IReadOnlyList<int> Ints(byte[] bytes) => bytes.Select(b => (int)b).ToList();
}
