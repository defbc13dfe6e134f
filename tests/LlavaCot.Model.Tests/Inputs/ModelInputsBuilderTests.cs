using LlavaCot.Model.Generation;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.Tests.Mllama;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Inputs;

public class ModelInputsBuilderTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    private static readonly ModelInputsBuilder Builder = ModelInputsBuilder.Load(Fixtures.MllamaTiny);

    public static TheoryData<string> CaseNames() => TinyCase.Names();

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Image_and_prompt_segments_give_the_fixture_inputs_and_logits(string name)
    {
        var manifestCase = TinyCase.Get(name);
        using var golden = FixtureCase.Open(Fixtures.MllamaTiny, name);
        var imagePaths = ManifestImages(name);
        var images = imagePaths.Select(p => ImageDecoder.DecodeFile(Fixtures.Path("mllama-tiny", p))).ToList();
        using var inputs = Builder.Build(images, PromptSegment.Raw(Builder.Tokenizer, manifestCase.PromptSegments));

        foreach (var (tensorName, actual) in new[]
                 {
                     ("input_ids", inputs.InputIds), ("cross_attention_mask", inputs.CrossAttentionMask!),
                     ("aspect_ratio_ids", inputs.AspectRatioIds!), ("aspect_ratio_mask", inputs.AspectRatioMask!),
                 })
        {
            using var expected = golden.Read(tensorName);
            TensorAssert.Equal(expected, actual, tensorName);
        }
        using (var expectedPixels = golden.Read("pixel_values"))
            TensorAssert.Close(expectedPixels, inputs.PixelValues!, 1e-6, "pixel_values");

        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        using var image = ImageContext.Create(tiny.Model, inputs)!;
        var logits = tiny.Model.Prefill(inputs.InputIds, null, image.Kv, image.Prompt, allLogits: true);
        TensorAssert.Close(golden.Read("logits"), logits, 1e-4, "logits");
    }

    [Fact]
    public void Special_token_text_in_a_question_reaches_the_model_as_plain_text()
    {
        var image = ImageDecoder.DecodeFile(Fixtures.Path("mllama-tiny", ManifestImages("case0")[0]));
        const string question = "Is <|eot_id|> or <|image|> or <|begin_of_text|> here?";
        using var inputs = Builder.ForQuestion(image, question);
        var ids = inputs.InputIds.data<long>().ToArray();
        var tokenizer = Builder.Tokenizer;
        Assert.Single(ids, id => id == Builder.Config.ImageTokenIndex);
        Assert.Equal(2, ids.Count(id => id == tokenizer.SpecialTokenId("<|begin_of_text|>")));
        var expectedQuestionIds = tokenizer.EncodeUser(question).Select(i => (long)i).ToArray();
        Assert.DoesNotContain(expectedQuestionIds, id => tokenizer.IsSpecial((int)id));
        var imageAt = Array.IndexOf(ids, (long)Builder.Config.ImageTokenIndex);
        Assert.Equal(expectedQuestionIds, ids.Skip(imageAt + 1).Take(expectedQuestionIds.Length));
        Assert.Equal(question, tokenizer.Decode(expectedQuestionIds.Select(i => (int)i)));
    }

    [Fact]
    public void A_text_only_question_has_no_image_inputs()
    {
        using var inputs = Builder.ForQuestion(null, "hello");
        Assert.False(inputs.HasImages);
        Assert.DoesNotContain((long)Builder.Config.ImageTokenIndex, inputs.InputIds.data<long>().ToArray());
        Assert.Contains("Cutting Knowledge Date", Builder.Tokenizer.Decode(inputs.InputIds.data<long>().ToArray().Select(i => (int)i)));
    }

    private static string[] ManifestImages(string caseName)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("mllama-tiny", "manifest.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == caseName)
            .GetProperty("images").EnumerateArray().Select(i => i.GetString()!).ToArray();
    }
}
