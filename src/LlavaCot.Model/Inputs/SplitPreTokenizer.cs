using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace LlavaCot.Model.Inputs;

/// <summary>
/// tokenizer.json's Split pre-tokenizer (behaviour "Isolated": matches and the gaps between them are pieces).
/// HF's regex engine matches code points while .NET matches UTF-16 units, so an astral letter such as 𝐀 would not
/// be <c>\p{L}</c> here and an emoji before a word would split differently. The regex therefore runs on a copy in
/// which each astral code point becomes one BMP stand-in of the same class (letter, number, other), and the match
/// boundaries are mapped back. This is exact for patterns that tell characters apart by those classes, as
/// Llama 3's does (its only literals are ASCII).
/// </summary>
public sealed class SplitPreTokenizer(string pattern)
{
    /// <summary>The Split regex of the Llama 3 tokenizer (data from its tokenizer.json): what a tokenizer trained for a
    /// Llama 3-style loader pre-tokenizes with.</summary>
    public const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private const char LetterStandIn = '\u4E00';
    private const char NumberStandIn = '\u0660';
    private const char OtherStandIn = '\uE000';

    private readonly Regex _regex = new(pattern, RegexOptions.CultureInvariant);

    public void Split(string text, Action<string> piece)
    {
        if (!text.Any(char.IsSurrogate))
        {
            SplitMapped(text, text, null, piece);
            return;
        }
        var mapped = new StringBuilder(text.Length);
        var origin = new List<int>(text.Length + 1);
        for (var i = 0; i < text.Length;)
        {
            origin.Add(i);
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out var used) == OperationStatus.Done && used == 2)
                mapped.Append(StandIn(rune));
            else
                mapped.Append(text[i]);
            i += used;
        }
        origin.Add(text.Length);
        SplitMapped(text, mapped.ToString(), origin, piece);
    }

    private static char StandIn(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => LetterStandIn,
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => NumberStandIn,
        _ => OtherStandIn,
    };

    private void SplitMapped(string text, string mapped, List<int>? origin, Action<string> piece)
    {
        var at = 0;
        foreach (var m in _regex.EnumerateMatches(mapped))
        {
            if (m.Length == 0)
                continue;
            if (m.Index > at)
                Emit(text, origin, at, m.Index, piece);
            Emit(text, origin, m.Index, m.Index + m.Length, piece);
            at = m.Index + m.Length;
        }
        if (at < mapped.Length)
            Emit(text, origin, at, mapped.Length, piece);
    }

    private static void Emit(string text, List<int>? origin, int start, int end, Action<string> piece)
    {
        var from = origin?[start] ?? start;
        var to = origin?[end] ?? end;
        piece(text[from..to]);
    }
}
