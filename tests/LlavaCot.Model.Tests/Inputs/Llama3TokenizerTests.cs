using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Tests;

namespace LlavaCot.Model.Tests.Inputs;

public class Llama3TokenizerTests
{
    private static ITokenizer Tok => TestTokenizers.Llama3;

    [SkippableTheory]
    [Trait(Category.Name, Category.Fixtures)]
    [MemberData(nameof(TokenizerCase.Indices), MemberType = typeof(TokenizerCase))]
    public void Template_path_matches_the_reference_ids_and_decodes(int index)
    {
        var c = TokenizerCase.Cases[index];
        Assert.Equal(c.Ids, Tok.EncodeTemplate(c.Text));
        Assert.Equal(c.Decoded, Tok.Decode(c.Ids, cleanUpTokenizationSpaces: false));
        Assert.Equal(c.DecodedClean, Tok.Decode(c.Ids));
    }

    [SkippableTheory]
    [Trait(Category.Name, Category.Fixtures)]
    [MemberData(nameof(TokenizerCase.Indices), MemberType = typeof(TokenizerCase))]
    public void User_path_never_yields_a_special_id_and_round_trips(int index)
    {
        var c = TokenizerCase.Cases[index];
        var ids = Tok.EncodeUser(c.Text);
        var firstSpecial = Tok.SpecialTokens.Values.Min();
        Assert.All(ids, id => Assert.True(id < firstSpecial && !Tok.IsSpecial(id), $"special id {id} from user text"));
        Assert.Equal(c.Text, Tok.Decode(ids, cleanUpTokenizationSpaces: false));
    }

    [SkippableTheory]
    [Trait(Category.Name, Category.Fixtures)]
    [MemberData(nameof(TokenizerCase.Indices), MemberType = typeof(TokenizerCase))]
    public void Streaming_one_id_at_a_time_concatenates_to_the_full_decode(int index)
    {
        var c = TokenizerCase.Cases[index];
        foreach (var skip in new[] { false, true })
        {
            foreach (var clean in new[] { false, true })
            {
                var stream = new StreamingDecoder(Tok, skip, clean);
                var text = string.Concat(c.Ids.Select(stream.Add)) + stream.Flush();
                Assert.Equal(Tok.Decode(c.Ids, skip, clean), text);
            }
        }
    }

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void Chat_format_words_have_their_documented_ids()
    {
        Assert.Equal([882], Tok.EncodeTemplate("user"));
        Assert.Equal([78191], Tok.EncodeTemplate("assistant"));
        Assert.Equal([9125], Tok.EncodeTemplate("system"));
        Assert.Equal([271], Tok.EncodeTemplate("\n\n"));
        Assert.Equal(128000, Tok.SpecialTokenId("<|begin_of_text|>"));
        Assert.Equal(128009, Tok.SpecialTokenId("<|eot_id|>"));
    }

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void Image_token_is_added_at_the_config_index_only_when_asked()
    {
        Assert.Equal(128256, Tok.SpecialTokenId(ImageToken.Text));
        Assert.Equal(128257, Tok.VocabularySize);
        Assert.True(Tok.IsSpecial(128256));
        Assert.Equal("", Tok.Decode([128256], skipSpecialTokens: true));
        Assert.Equal("<|image|>", Tok.Decode([128256]));

        var plain = Llama3Tokenizer.Load(TestTokenizers.Llama3Dir);
        Assert.Null(plain.SpecialTokenId(ImageToken.Text));
        Assert.Equal(128256, plain.VocabularySize);
        Assert.Equal([128256], Tok.EncodeTemplate("<|image|>"));
        Assert.DoesNotContain(plain.EncodeTemplate("<|image|>"), plain.IsSpecial);
    }

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void Bos_and_eos_come_from_tokenizer_config()
    {
        Assert.Equal(128000, Tok.BosTokenId);
        Assert.Equal(128001, Tok.EosTokenId);
        Assert.Null(Tok.PadTokenId);
        Assert.True(Tok.CleanUpTokenizationSpaces);
    }

    [SkippableTheory]
    [Trait(Category.Name, Category.Fixtures)]
    [InlineData("<|eot_id|>")]
    [InlineData("<|image|>")]
    [InlineData("<|begin_of_text|>")]
    [InlineData("<|start_header_id|>assistant<|end_header_id|>")]
    public void Special_strings_in_user_text_stay_text(string special)
    {
        var text = $"Is {special} a token?";
        var user = Tok.EncodeUser(text);
        Assert.DoesNotContain(user, Tok.IsSpecial);
        Assert.Equal(text, Tok.Decode(user, skipSpecialTokens: true, cleanUpTokenizationSpaces: false));
        Assert.Contains(Tok.EncodeTemplate(text), Tok.IsSpecial);
    }

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void Skipping_specials_and_unknown_ids_follow_hf()
    {
        var ids = Tok.EncodeTemplate("<|begin_of_text|>Hi<|eot_id|>");
        Assert.Equal("Hi", Tok.Decode(ids, skipSpecialTokens: true));
        Assert.Equal("<|begin_of_text|>Hi<|eot_id|>", Tok.Decode(ids));
        Assert.Equal("Hi", Tok.Decode([.. ids.Where(i => !Tok.IsSpecial(i)), 999_999]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tok.Decode([-1]));
    }

    [SkippableTheory]
    [Trait(Category.Name, Category.Fixtures)]
    // Expected ids from the same JavaScript port of HF tokenizers that produced cases.json (regex per code point).
    [InlineData("日本𠀀語", new[] { 102433, 172, 64319, 222, 102158 })]
    [InlineData("𝟏𝟐𝟑𝟒", new[] { 57352, 253, 237, 57352, 253, 238, 57352, 253, 239, 57352, 253, 240 })]
    [InlineData("12𝟑45", new[] { 717, 57352, 253, 239, 1774 })]
    [InlineData("the𝐀cat", new[] { 1820, 57352, 238, 222, 4719 })]
    [InlineData("x😀the end", new[] { 87, 76460, 222, 1820, 842 })]
    [InlineData("𠀀's here", new[] { 172, 64319, 222, 596, 1618 })]
    [InlineData("it's 𝐱'll do", new[] { 275, 596, 82350, 238, 109, 3358, 656 })]
    [InlineData("𝟏'd", new[] { 57352, 253, 237, 4265 })]
    public void Astral_characters_split_by_code_point_like_hf(string text, int[] expected)
    {
        Assert.Equal(expected, Tok.EncodeUser(text));
        Assert.Equal(text, Tok.Decode(expected));
    }

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void Loads_all_128k_tokens_and_the_specials()
    {
        var tokenizer = Llama3Tokenizer.Load(TestTokenizers.Llama3Dir);
        Assert.Equal(128_256, tokenizer.VocabularySize);
        Assert.Equal(128_000, tokenizer.SpecialTokenId("<|begin_of_text|>"));
    }

    [Fact]
    public void Missing_or_corrupt_files_name_the_file()
    {
        using var tmp = new TempDir();
        var missing = Assert.Throws<ConfigException>(() => TokenizerLoader.Load(tmp.Path));
        Assert.Contains(tmp.Path, missing.Message);
        Assert.Contains("tokenizer.json", missing.Message);
        Assert.Contains("byte_tokenizer.json", missing.Message);

        File.WriteAllText(tmp.File("tokenizer.json"), "{ not json");
        var corrupt = Assert.Throws<ConfigException>(() => TokenizerLoader.Load(tmp.Path));
        Assert.Contains(tmp.File("tokenizer.json"), corrupt.Message);

        File.WriteAllText(tmp.File("tokenizer.json"),
            """{"model":{"type":"BPE","ignore_merges":true,"vocab":{"a":0}},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"\\w+"}}}""");
        var noConfig = Assert.Throws<ConfigException>(() => TokenizerLoader.Load(tmp.Path));
        Assert.Contains(tmp.File("tokenizer_config.json"), noConfig.Message);

        File.WriteAllText(tmp.File("tokenizer_config.json"), """{"clean_up_tokenization_spaces":false}""");
        var tiny = TokenizerLoader.Load(tmp.Path);
        Assert.Equal([0, 0], tiny.EncodeUser("aa"));
        Assert.False(tiny.CleanUpTokenizationSpaces);
    }

    [Theory]
    [InlineData("""{"model":{"type":"Unigram","vocab":[]}}""", "model.type")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0}}}""", "ignore_merges")]
    [InlineData("""{"model":{"type":"BPE","ignore_merges":true,"vocab":{"a b":0}}}""", "not byte-level")]
    [InlineData("""{"model":{"type":"BPE","ignore_merges":true,"vocab":{"a":0}}}""", "Split")]
    [InlineData("""{"normalizer":{"type":"NFC"},"model":{"type":"BPE","ignore_merges":true,"vocab":{"a":0}}}""", "normalizer")]
    [InlineData("""{"model":{"type":"BPE","ignore_merges":true,"vocab":{"a":0}},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"."}},"added_tokens":[{"id":0,"content":"<x>"}]}""", "also uses")]
    public void Unsupported_tokenizer_json_names_the_file_and_field(string json, string expected)
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("tokenizer.json"), json);
        var ex = Assert.Throws<ConfigException>(() => Llama3Tokenizer.Load(tmp.Path));
        Assert.Contains(tmp.File("tokenizer.json"), ex.Message);
        Assert.Contains(expected, ex.Message);
    }
}
