namespace LlavaCot.Model.Inputs;

/// <summary>How a piece of a rendered prompt is encoded.</summary>
public enum PromptSegmentKind
{
    /// <summary>One special token, by its text (encoded as its literal text if the tokenizer lacks it).</summary>
    Special,

    /// <summary>Text written by the template: special-token strings in it are recognised.</summary>
    Template,

    /// <summary>Text from a user: never yields a special token.</summary>
    User,
}
