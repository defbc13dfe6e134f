using System.Text;
using LlavaCot.Model.Inputs;
using LlavaCot.Tests;

namespace LlavaCot.Model.Tests.Inputs;

public class StreamingDecoderTests
{
    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void Clean_up_in_a_stream_waits_for_the_next_character()
    {
        var tok = TestTokenizers.Llama3;
        var ids = tok.EncodeUser("Yes , it 's fine .");
        var stream = new StreamingDecoder(tok);
        var deltas = ids.Select(stream.Add).ToList();
        deltas.Add(stream.Flush());
        Assert.Equal("Yes, it's fine.", string.Concat(deltas));
        Assert.DoesNotContain(deltas, d => d.EndsWith(' '));
    }

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void Without_clean_up_every_complete_character_is_released_at_once()
    {
        var tok = TestTokenizers.Llama3;
        var ids = tok.EncodeUser("Yes , it");
        var stream = new StreamingDecoder(tok, cleanUpTokenizationSpaces: false);
        Assert.Equal(ids.Select(id => tok.Decode([id], cleanUpTokenizationSpaces: false)), ids.Select(stream.Add));
    }

    [Fact]
    public void Chunked_clean_up_equals_whole_text_clean_up_on_random_text()
    {
        // Text made of the characters the clean-up rules are about, fed byte by byte through the toy tokenizer.
        var tok = TestTokenizers.Tiny;
        var random = new Random(1234);
        const string alphabet = "  'ntvermsd.,?!a";
        for (var trial = 0; trial < 2000; trial++)
        {
            var text = new StringBuilder();
            for (var i = random.Next(1, 24); i > 0; i--)
                text.Append(alphabet[random.Next(alphabet.Length)]);
            var ids = tok.EncodeUser(text.ToString());
            var stream = new StreamingDecoder(tok, cleanUpTokenizationSpaces: true);
            var streamed = string.Concat(ids.Select(stream.Add)) + stream.Flush();
            Assert.Equal(tok.Decode(ids, cleanUpTokenizationSpaces: true), streamed);
        }
    }

    [Fact]
    public void Clean_up_applies_the_hf_rules_in_order()
    {
        Assert.Equal("a'b", TokenizationCleanUp.Apply("a ' b"));
        Assert.Equal("Don 't do it, I'm sure.", TokenizationCleanUp.Apply("Don 't do it , I 'm sure ."));
        Assert.Equal("can't", TokenizationCleanUp.Apply("ca n't"));
        // " ' " runs before " 've", so the quote it frees joins the word before it.
        Assert.Equal("x've", TokenizationCleanUp.Apply("x  ' ve"));
    }
}
