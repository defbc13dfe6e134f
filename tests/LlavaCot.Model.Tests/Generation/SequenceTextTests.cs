using LlavaCot.Model.Config;
using LlavaCot.Model.Generation;
using LlavaCot.Model.Inputs;
using LlavaCot.Tests;

namespace LlavaCot.Model.Tests.Generation;

/// <summary>The stop rule decides on the whole decoded text, as the reference does, even where the stream holds text back.</summary>
public class SequenceTextTests
{
    private static readonly Lazy<ITokenizer> Llama3 = new(() =>
        TokenizerLoader.Load(Fixtures.Path("llama3-tokenizer"), MllamaConfig.Load(Fixtures.Path("mllama-bench-config"))));

    private static readonly StopRule Sentence = new(new HashSet<int>(), new StopCondition(["</CONCLUSION>"], 100, StopAtPeriod: true));

    /// <summary>Feeds the ids of <paramref name="pieces"/> one piece at a time; returns the step at which the rule stopped, or -1.</summary>
    private static (int StoppedAt, string Text) Feed(ITokenizer tokenizer, string prompt, StopRule stop, params string[] pieces)
    {
        var text = new SequenceText(tokenizer, skipSpecialTokens: true, prompt, stop);
        var streamed = "";
        var ids = pieces.SelectMany(p => tokenizer.EncodeUser(p)).ToList();
        for (var i = 0; i < ids.Count; i++)
        {
            var (delta, stopped) = text.Add(ids[i]);
            streamed += delta;
            if (stopped)
                return (i, streamed + text.Flush());
        }
        return (-1, streamed + text.Flush());
    }

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void A_held_back_space_after_a_period_is_not_a_stop()
    {
        var tokenizer = Llama3.Value;
        Assert.True(tokenizer.CleanUpTokenizationSpaces);
        // The prompt (the previous sentence) ends with a period; the first new token is a lone space, which the
        // stream holds back (clean-up could still turn " ." into "."): the full text ends with a space, not a period.
        Assert.Single(tokenizer.EncodeUser(" "));
        string[] pieces = [" ", "Grass", " is", " green", ".", " More"];
        var (stoppedAt, text) = Feed(tokenizer, "The sky is blue.", Sentence, pieces);
        Assert.Equal(pieces[..5].Sum(p => tokenizer.EncodeUser(p).Count) - 1, stoppedAt);
        Assert.Equal(" Grass is green.", text);
    }

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void Half_a_character_after_a_period_is_not_a_stop()
    {
        var tokenizer = Llama3.Value;
        // "é" split into its two UTF-8 bytes, each a token of its own: after the first byte the full decode ends in U+FFFD.
        var byteIds = "é"u8.ToArray().Select(b => SingleByteToken(tokenizer, b)).ToList();
        var text = new SequenceText(tokenizer, skipSpecialTokens: true, "Done.", Sentence);
        var (first, stopFirst) = text.Add(byteIds[0]);
        Assert.Equal("", first);
        Assert.False(stopFirst);
        var (second, stopSecond) = text.Add(byteIds[1]);
        Assert.Equal("é", second);
        Assert.False(stopSecond);
        var (period, stopPeriod) = text.Add(tokenizer.EncodeUser(".").Single());
        Assert.Equal(".", period);
        Assert.True(stopPeriod);
    }

    /// <summary>The id whose bytes are exactly <paramref name="b"/> (byte-level BPE has one for every byte).</summary>
    private static int SingleByteToken(ITokenizer tokenizer, byte b) =>
        Enumerable.Range(0, tokenizer.VocabularySize).First(id => tokenizer.TokenBytes(id) is [var only] && only == b);

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void A_stop_string_completed_by_a_held_back_tail_stops_at_once()
    {
        var tokenizer = Llama3.Value;
        // A stop string ending in a space: the released text lacks the space until the next token, the full text has it.
        var stop = new StopRule(new HashSet<int>(), new StopCondition(["end "], 100));
        var (stoppedAt, _) = Feed(tokenizer, "", stop, "the", " end", " ", "x");
        Assert.Equal(2, stoppedAt);
    }

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void Released_text_equals_the_full_decode()
    {
        var tokenizer = Llama3.Value;
        var pieces = new[] { "A", " sentence", " .", " Isn", "'t", " it", " ?", " é", "!" };
        var (_, text) = Feed(tokenizer, "", StopRule.Length(100), pieces);
        Assert.Equal(tokenizer.Decode(pieces.SelectMany(p => tokenizer.EncodeUser(p)).ToList(), skipSpecialTokens: true), text);
    }
}
