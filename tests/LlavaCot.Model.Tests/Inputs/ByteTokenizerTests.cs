using System.Text.Json;
using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Tests;

namespace LlavaCot.Model.Tests.Inputs;

public class ByteTokenizerTests
{
    private static ITokenizer Tok => TestTokenizers.Tiny;

    [Theory]
    [MemberData(nameof(TinyCase.Names), MemberType = typeof(TinyCase))]
    public void Manifest_prompt_segments_encode_to_the_case_input_ids(string name)
    {
        var c = TinyCase.Get(name);
        Assert.Equal(c.InputIds, Tok.Encode(PromptSegment.Raw(Tok, c.PromptSegments)));
        Assert.Equal(string.Concat(c.PromptSegments), Tok.Decode(c.InputIds));
    }

    [Fact]
    public void Specials_come_from_the_manifest_map()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("mllama-tiny", "manifest.json")));
        var map = doc.RootElement.GetProperty("special_tokens").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(map.OrderBy(p => p.Key), Tok.SpecialTokens.OrderBy(p => p.Key));
        Assert.Equal(map.Values.Max() + 1, Tok.VocabularySize);
        Assert.Equal(MllamaConfig.Load(Fixtures.MllamaTiny).ImageTokenIndex, Tok.SpecialTokenId(ImageToken.Text));
        Assert.Equal(map["<|begin_of_text|>"], Tok.BosTokenId);
        Assert.Equal(map["<|end_of_text|>"], Tok.EosTokenId);
        Assert.Null(Tok.SpecialTokenId("<|start_header_id|>"));
    }

    [Fact]
    public void User_text_is_utf8_bytes_even_when_it_spells_a_special()
    {
        var ids = Tok.EncodeUser("<|image|>é");
        Assert.Equal("<|image|>é"u8.ToArray().Select(b => (int)b), ids);
        Assert.Equal([Tok.SpecialTokenId(ImageToken.Text)!.Value], Tok.EncodeTemplate("<|image|>"));
    }

    [Fact]
    public void Streaming_holds_back_a_split_multibyte_character()
    {
        var stream = new StreamingDecoder(Tok);
        var bytes = "a€b"u8.ToArray();
        var deltas = bytes.Select(b => stream.Add(b)).ToList();
        Assert.Equal(["a", "", "", "€", "b"], deltas);
        Assert.Equal("", stream.Flush());

        var broken = new StreamingDecoder(Tok);
        Assert.Equal("x", broken.Add('x') + broken.Add(0xE2) + broken.Add(0x82));
        Assert.Equal("\uFFFD", broken.Flush());
        Assert.Equal("x\uFFFD", Tok.Decode(['x', 0xE2, 0x82]));
    }

    [Fact]
    public void Folder_with_our_byte_tokenizer_file_loads_it()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File(ByteTokenizer.FileName),
            """{"type":"byte-level","special_tokens":{"<|begin_of_text|>":256,"<|eot_id|>":258},"eos_token":"<|eot_id|>"}""");
        var tok = TokenizerLoader.Load(tmp.Path);
        Assert.IsType<ByteTokenizer>(tok);
        Assert.Equal(259, tok.VocabularySize);
        Assert.Equal(258, tok.EosTokenId);
        Assert.Equal([256, 104, 105, 258], tok.EncodeTemplate("<|begin_of_text|>hi<|eot_id|>"));
    }

    [Theory]
    [InlineData("""{"type":"byte-level","special_tokens":{"<|x|>":7}}""", "256 or more")]
    [InlineData("""{"type":"wordpiece","special_tokens":{}}""", "not a byte-level")]
    [InlineData("""{"type":"byte-level"}""", "special_tokens")]
    [InlineData("""[1, 2]""", "JSON object")]
    public void Bad_byte_tokenizer_files_name_the_file(string json, string expected)
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File(ByteTokenizer.FileName), json);
        var ex = Assert.Throws<ConfigException>(() => TokenizerLoader.Load(tmp.Path));
        Assert.Contains(tmp.File(ByteTokenizer.FileName), ex.Message);
        Assert.Contains(expected, ex.Message);
    }
}
