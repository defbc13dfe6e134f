using System.Text.Json;
using LlavaCot.Model.Inputs;
using LlavaCot.Reasoning.Judging;
using LlavaCot.Tests;
using LlavaCot.Training.Shapes;
using LlavaCot.Training.Tokenizer;
using Microsoft.ML.Tokenizers;

namespace LlavaCot.Training.Tests;

public class TokenizerTrainingTests
{
    /// <summary>Questions, tagged answers and judge prompts of the shapes task.</summary>
    private static List<string> Corpus(int items)
    {
        var texts = new List<string>();
        for (var i = 0; i < items; i++)
        {
            var (_, question, answer) = ShapeDataset.Draw(21, i);
            texts.Add(question.Text);
            texts.Add(answer.Text);
            texts.Add(JudgePrompts.Comparison(JudgeType.Caption, question.Text, null, [answer.Caption, answer.Caption]));
        }
        return texts;
    }

    [Fact]
    public void A_trained_tokenizer_loads_with_the_llama3_loader_and_encodes_as_hf_bpe_does()
    {
        var corpus = Corpus(200);
        var bpe = BpeTrainer.Train(corpus, 1024);
        Assert.InRange(bpe.Tokens.Count, 300, 1024);
        using var dir = new TempDir();
        var image = TokenizerFiles.Write(dir.Path, bpe);
        Assert.Equal(bpe.Tokens.Count + 256, image);

        var ours = Llama3Tokenizer.Load(dir.Path, image);
        Assert.Equal(image + 1, ours.VocabularySize);
        Assert.Equal(bpe.Tokens.Count, ours.SpecialTokenId("<|begin_of_text|>"));
        Assert.Equal(bpe.Tokens.Count + 9, ours.SpecialTokenId("<|eot_id|>"));
        Assert.Equal(image, ours.SpecialTokenId(ImageToken.Text));
        Assert.True(ours.CleanUpTokenizationSpaces);
        Assert.Null(ChatTemplateCheck.Warning(dir.Path));

        var hf = HfBpe(dir.File(Llama3Tokenizer.FileName));
        // A sample of the corpus, held-out items of the same kind, and text the corpus never had.
        var samples = corpus.Take(60).Concat(Corpus(260).Skip(240)).Append("Zebras? 12345 naïve — café 🙂\n\n  tabs\tand  spaces").ToList();
        foreach (var text in samples)
        {
            var expected = hf.EncodeToIds(text);
            Assert.Equal(expected, ours.EncodeUser(text));
            Assert.Equal(text, ours.Decode(expected, cleanUpTokenizationSpaces: false));
        }
        // The corpus's own words became whole tokens.
        Assert.Single(ours.EncodeUser(" triangle"));
        Assert.True(ours.EncodeUser(samples[1]).Count < samples[1].Length / 3);
    }

    [Fact]
    public void Training_is_deterministic_and_stops_when_no_pair_repeats()
    {
        var corpus = Corpus(40);
        var a = BpeTrainer.Train(corpus, 4096);
        var b = BpeTrainer.Train(corpus, 4096);
        Assert.Equal(a.Merges, b.Merges);
        Assert.True(a.Tokens.Count < 4096);
        Assert.Equal(256 + a.Merges.Count, a.Tokens.Count);
        Assert.Equal(300, BpeTrainer.Train(corpus, 300).Tokens.Count);
    }

    /// <summary>Microsoft.ML.Tokenizers' merge-list BPE over the same tokenizer.json (vocabulary, merges, Split regex).</summary>
    private static BpeTokenizer HfBpe(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        var model = doc.RootElement.GetProperty("model");
        var vocab = model.GetProperty("vocab").EnumerateObject().Select(p => new KeyValuePair<string, int>(p.Name, p.Value.GetInt32())).ToList();
        var merges = model.GetProperty("merges").EnumerateArray().Select(m => m.GetString()!).ToList();
        return BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(new System.Text.RegularExpressions.Regex(SplitPreTokenizer.Llama3Pattern), null),
        });
    }
}
