namespace LlavaCot.Model.Inputs;

/// <summary>One piece of a rendered prompt; keeping the pieces apart is what lets user text stay plain text.</summary>
public readonly record struct PromptSegment(PromptSegmentKind Kind, string Text)
{
    public static PromptSegment Special(string token) => new(PromptSegmentKind.Special, token);

    public static PromptSegment Template(string text) => new(PromptSegmentKind.Template, text);

    public static PromptSegment User(string text) => new(PromptSegmentKind.User, text);

    /// <summary>
    /// Prompt pieces as the fixture manifests list them (<c>prompt_segments</c>), for prompts that are not chat
    /// templated: a piece that is exactly a special token's text is that token, any other piece is user text.
    /// </summary>
    public static IReadOnlyList<PromptSegment> Raw(ITokenizer tokenizer, IEnumerable<string> pieces) =>
        pieces.Select(p => tokenizer.SpecialTokenId(p) is null ? User(p) : Special(p)).ToList();
}
