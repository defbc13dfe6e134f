using LlavaCot.Tests;

namespace LlavaCot.Cli.Tests;

public class TokenizeCommandTests
{
    private static string Llama3 => Fixtures.Path("llama3-tokenizer");

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void Tokenize_prints_the_ids_and_tokens_of_a_known_string()
    {
        // "Hello, my dog is cute" is the first case of llama3-tokenizer/cases.json.
        var (code, output, err) = CliRunner.Run("tokenize", Llama3, "Hello, my dog is cute");
        Assert.True(code == 0, err);
        Assert.Contains("ids: 9906 11 856 5679 374 19369\n", output);
        Assert.Contains("    9906 \"Hello\"\n", output);
        Assert.Contains("     856 \" my\"\n", output);
    }

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void Template_path_recognises_specials_and_user_path_does_not()
    {
        var (code, output, err) = CliRunner.Run("tokenize", Llama3, "<|eot_id|>\n\n");
        Assert.True(code == 0, err);
        Assert.Contains("ids: 128009 271\n", output);
        Assert.Contains("\"<|eot_id|>\" (special)", output);
        Assert.Contains("\"\\n\\n\"", output);

        (code, output, err) = CliRunner.Run("tokenize", Llama3, "<|eot_id|>", "--user");
        Assert.True(code == 0, err);
        Assert.Contains("path: user", output);
        Assert.DoesNotContain("128009", output);
        Assert.DoesNotContain("(special)", output);
    }

    [Fact]
    public void Tokenize_the_tiny_model_with_its_byte_tokenizer_and_image_token()
    {
        var (code, output, err) = CliRunner.Run("tokenize", Fixtures.MllamaTiny, "<|image|>é");
        Assert.True(code == 0, err);
        Assert.Contains("ids: 300 195 169\n", output);
        Assert.Contains("\\xC3", output);
    }

    [Fact]
    public void Tokenize_without_a_tokenizer_names_the_folder()
    {
        using var tmp = new TempDir();
        var (code, _, err) = CliRunner.Run("tokenize", tmp.Path, "x");
        Assert.Equal(1, code);
        Assert.Contains(tmp.Path, err);
        Assert.Contains("tokenizer.json", err);
        (code, _, err) = CliRunner.Run("tokenize", tmp.Path);
        Assert.Equal(2, code);
        Assert.Contains("missing \"text\"", err);
    }
}
