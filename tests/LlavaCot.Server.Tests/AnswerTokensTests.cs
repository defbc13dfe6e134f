using System.Text;
using LlavaCot.Reasoning;
using LlavaCot.Server.OpenAi;

namespace LlavaCot.Server.Tests;

/// <summary>The boundary rule: each token goes to the field its text overlaps; one that overlaps neither is left out.</summary>
public class AnswerTokensTests
{
    private const int EndOfTurn = 1000;

    // Each token's field: reasoning_content, content, or none (left out).
    private const AnswerTokens.Field R = AnswerTokens.Field.Reasoning, C = AnswerTokens.Field.Content, N = AnswerTokens.Field.None;

    private static TokenLogProb Token(string text, int id = 1) => new(id, text, -1, Encoding.UTF8.GetBytes(text), []);

    private static TokenLogProb Raw(params byte[] bytes) => new(2, "\uFFFD", -1, bytes, []);

    private static AnswerTokens.Field[] Assign(string answer, bool split, bool cleanUp, params TokenLogProb[] tokens) =>
        AnswerTokens.Assign(answer, tokens, split, id => id == EndOfTurn, cleanUp);

    [Fact]
    public void The_conclusions_tags_the_trimmed_white_space_and_special_tokens_are_left_out()
    {
        TokenLogProb[] tokens =
        [
            Token("<SUMMARY>"), Token(" a"), Token("</SUMMARY>"), Token(">\n\n"), Token("<CONCLUSION"), Token(">"), Token(" "), Token("three"),
            Token(" ."), Token(" \n"), Token("</"), Token("CONCLUSION"), Token(">"), Token("<|eot_id|>", EndOfTurn),
        ];
        var answer = "<SUMMARY> a</SUMMARY>>\n\n<CONCLUSION> three . \n</CONCLUSION>";
        Assert.Equal(("<SUMMARY> a</SUMMARY>>", "three .", true), Answers.Split(answer));
        Assert.Equal(
            [R, R, R, R, N, N, N, C, C, N, N, N, N, N],
            Assign(answer, split: true, cleanUp: false, tokens));
    }

    [Fact]
    public void Tagged_everything_that_adds_text_is_content_and_nothing_past_a_stop_string()
    {
        var answer = "<CONCLUSION> x </CONCLUSION>";
        TokenLogProb[] tokens = [Token("<CONCLUSION"), Token(">"), Token(" x"), Token(" </"), Token("CONCLUSION"), Token(">"), Token("<|eot_id|>", EndOfTurn)];
        Assert.Equal([C, C, C, C, C, C, N], Assign(answer, split: false, cleanUp: false, tokens));
        // Cut where a stop string "/CONCLUSION" begins: the token it begins in is kept, those after it are not.
        Assert.Equal([C, C, C, C, N, N, N], Assign(answer[..16], split: false, cleanUp: false, tokens));
    }

    [Fact]
    public void A_token_across_a_fields_edge_goes_to_that_field_with_its_whole_text()
    {
        // The split trims " green" to "green": the token keeps its space, as OpenAI's token texts are the tokens'.
        var answer = "<CONCLUSION> green </CONCLUSION>";
        TokenLogProb[] tokens = [Token("<CONCLUSION"), Token(">"), Token(" green"), Token(" </"), Token("CONCLUSION"), Token(">")];
        Assert.Equal([N, N, C, N, N, N], Assign(answer, split: true, cleanUp: false, tokens));
    }

    [Fact]
    public void A_token_across_the_whole_conclusion_tag_goes_to_the_reasoning_where_it_starts()
    {
        var answer = "<REASONING>r</REASONING>\n<CONCLUSION>y</CONCLUSION>";
        TokenLogProb[] tokens = [Token("<REASONING>r</REASONING"), Token(">\n<CONCLUSION>y"), Token("</CONCLUSION>")];
        Assert.Equal([R, R, N], Assign(answer, split: true, cleanUp: false, tokens));
    }

    [Fact]
    public void Spans_follow_the_decode_across_split_characters_invalid_bytes_and_cleaned_up_spaces()
    {
        // "é" split over two tokens: both share it. A lone continuation byte decodes to U+FFFD, which is its token's.
        var spans = AnswerTokens.Spans([Token("a"), Raw(0xC3), Raw(0xA9), Raw(0x80), Token("b")], _ => false, cleanUp: false);
        Assert.Equal([(0, 1), (1, 2), (1, 2), (2, 3), (3, 4)], spans);
        // Clean-up turns " ." into ".": the space token adds nothing, the period keeps its place.
        var cleaned = AnswerTokens.Spans([Token("yes"), Token(" "), Token("."), Token(" no")], _ => false, cleanUp: true);
        Assert.Equal([(0, 3), (3, 3), (3, 4), (4, 7)], cleaned);
    }
}
