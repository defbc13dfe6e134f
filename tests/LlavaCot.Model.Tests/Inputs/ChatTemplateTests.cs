using LlavaCot.Model.Inputs;
using LlavaCot.Tests;

namespace LlavaCot.Model.Tests.Inputs;

public class ChatTemplateTests
{
    private static ITokenizer Tok => TestTokenizers.Llama3;

    [Fact]
    public void Image_prompt_renders_the_llava_cot_string_with_two_bos()
    {
        Assert.Equal(
            "<|begin_of_text|><|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<|image|>How many?<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n",
            ChatTemplate.Render(ChatTemplate.ImagePrompt("How many?")));
    }

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void Image_prompt_ids_start_like_the_reference()
    {
        var ids = Tok.Encode(ChatTemplate.ImagePrompt("What is the total area of the shaded region?"));
        Assert.Equal([128000, 128000, 128006, 882, 128007, 271, 128256], ids.Take(7));
        Assert.Equal([128009, 128006, 78191, 128007, 271], ids.TakeLast(5));
    }

    [SkippableTheory]
    [Trait(Category.Name, Category.Fixtures)]
    [InlineData("<|eot_id|>")]
    [InlineData("<|image|>")]
    [InlineData("<|begin_of_text|>")]
    public void Special_strings_in_the_question_stay_text(string special)
    {
        var question = $"What does {special} mean?";
        var ids = Tok.Encode(ChatTemplate.ImagePrompt(question));
        Assert.Single(ids, 128256);
        Assert.Equal(2, ids.Count(id => id == Tok.BosTokenId));
        Assert.Equal(1, ids.Count(id => id == Tok.SpecialTokenId("<|eot_id|>")));
        Assert.Contains(question, Tok.Decode(ids, skipSpecialTokens: true, cleanUpTokenizationSpaces: false));
    }

    [Fact]
    public void Text_prompt_has_the_system_block_with_the_injected_date()
    {
        var rendered = ChatTemplate.Render(ChatTemplate.TextPrompt("Is it correct?", new DateOnly(2024, 7, 26)));
        Assert.Equal(
            "<|begin_of_text|><|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nIs it correct?<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n",
            rendered);
        Assert.Equal("05 Jan 2025", ChatTemplate.FormatDate(new DateOnly(2025, 1, 5)));
    }

    [Fact]
    public void A_conversation_without_an_image_has_the_system_block_with_the_trimmed_system_text_then_every_turn()
    {
        var rendered = ChatTemplate.Render(ChatTemplate.Conversation(
        [
            new ChatTurn("system", "  Answer briefly.\n"),
            new ChatTurn("user", "How many?"),
            new ChatTurn("assistant", "Three."),
            new ChatTurn("user", "And red ones?"),
        ], new DateOnly(2024, 7, 26)));
        Assert.Equal(
            "<|begin_of_text|><|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nAnswer briefly.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHow many?<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\nThree.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nAnd red ones?<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n",
            rendered);
    }

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void A_conversation_with_an_image_has_no_system_block_and_the_image_opens_the_turn_that_sent_it()
    {
        var segments = ChatTemplate.Conversation(
        [
            new ChatTurn("user", "What is this?", Image: true),
            new ChatTurn("assistant", "<CONCLUSION>A cat.</CONCLUSION>"),
            new ChatTurn("user", "What colour is it?"),
        ], new DateOnly(2024, 7, 26));
        Assert.Equal(
            "<|begin_of_text|><|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<|image|>What is this?<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n<CONCLUSION>A cat.</CONCLUSION><|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nWhat colour is it?<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n",
            ChatTemplate.Render(segments));
        var ids = Tok.Encode(segments);
        Assert.Single(ids, 128256);
        Assert.Equal(Tok.EncodeTemplate(ChatTemplate.Render(segments)), ids);
        // A single user turn renders exactly as LLaVA-CoT's prompt.
        Assert.Equal(ChatTemplate.ImagePrompt("q"), ChatTemplate.Conversation([new ChatTurn("user", "q", Image: true)], default));
    }

    [Fact]
    public void The_template_refuses_what_the_chat_template_refuses()
    {
        var today = new DateOnly(2024, 7, 26);
        Assert.Contains("system", Assert.Throws<ArgumentException>(() => ChatTemplate.Conversation(
            [new ChatTurn("system", "Be brief."), new ChatTurn("user", "q", Image: true)], today)).Message);
        Assert.Contains("one image", Assert.Throws<ArgumentException>(() => ChatTemplate.Conversation(
            [new ChatTurn("user", "a", Image: true), new ChatTurn("assistant", "b"), new ChatTurn("user", "c", Image: true)], today)).Message);
        Assert.Throws<ArgumentException>(() => ChatTemplate.Conversation([new ChatTurn("user", "a"), new ChatTurn("system", "b")], today));
        Assert.Throws<ArgumentException>(() => ChatTemplate.Conversation([new ChatTurn("tool", "a")], today));
        // An empty system text beside an image is what the template allows: nothing is rendered for it.
        Assert.Equal(ChatTemplate.ImagePrompt("q"), ChatTemplate.Conversation([new ChatTurn("system", " "), new ChatTurn("user", "q", Image: true)], today));
    }

    [Fact]
    public void Text_prompt_takes_the_date_from_a_clock()
    {
        var clock = new FixedClock(new DateTimeOffset(2031, 12, 9, 10, 0, 0, TimeSpan.Zero));
        Assert.Contains("Today Date: 09 Dec 2031\n\n", ChatTemplate.Render(ChatTemplate.TextPrompt("q", clock)));
    }

    [SkippableTheory]
    [Trait(Category.Name, Category.Fixtures)]
    [InlineData("Is it correct?")]
    [InlineData("\nStarts with a newline")]
    [InlineData("   \n\n spaced out  ")]
    [InlineData("'s contraction first")]
    public void Encoding_the_segments_equals_encoding_the_rendered_string(string question)
    {
        // HF encodes the rendered string as a whole; a question that starts with whitespace joins the "\n\n" before it.
        foreach (var segments in new[] { ChatTemplate.TextPrompt(question, new DateOnly(2024, 7, 26)), ChatTemplate.ImagePrompt(question) })
            Assert.Equal(Tok.EncodeTemplate(ChatTemplate.Render(segments)), Tok.Encode(segments));
    }

    [Fact]
    public void Specials_the_tokenizer_lacks_are_encoded_as_text()
    {
        var tiny = TestTokenizers.Tiny;
        var ids = tiny.Encode(ChatTemplate.ImagePrompt("hi"));
        Assert.Equal([256, 256], ids.Take(2));
        Assert.Single(ids, tiny.SpecialTokenId(ImageToken.Text)!.Value);
        Assert.Equal(ChatTemplate.Render(ChatTemplate.ImagePrompt("hi")), tiny.Decode(ids));
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;

        public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
    }
}
