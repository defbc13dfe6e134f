namespace LlavaCot.Model.Inputs;

/// <summary>
/// The Llama-3.2-Vision instruct chat template as LLaVA-CoT renders it: one user turn and the generation prompt.
/// Both variants start with two <c>&lt;|begin_of_text|&gt;</c>: the template writes one and the vision
/// checkpoint's tokenizer adds another (the reference calls the processor with special tokens on), and the model
/// was fine-tuned that way.
/// </summary>
public static class ChatTemplate
{
    public const string BeginOfText = "<|begin_of_text|>";
    public const string StartHeader = "<|start_header_id|>";
    public const string EndHeader = "<|end_header_id|>";
    public const string EndOfTurn = "<|eot_id|>";

    private static readonly string[] MonthAbbreviations =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    /// <summary>A question about an image: the image token comes first, then the question; no system block.</summary>
    public static IReadOnlyList<PromptSegment> ImagePrompt(string question) =>
    [
        .. Start(),
        .. Header("user"),
        PromptSegment.Special(ImageToken.Text),
        PromptSegment.User(question),
        PromptSegment.Special(EndOfTurn),
        .. Header("assistant"),
    ];

    /// <summary>
    /// A question without an image (the judge's correctness check). The long template then puts a system block
    /// with the knowledge cut-off and today's date before the user turn.
    /// </summary>
    public static IReadOnlyList<PromptSegment> TextPrompt(string question, DateOnly today) =>
    [
        .. Start(),
        .. Header("system"),
        PromptSegment.Template($"Cutting Knowledge Date: December 2023\nToday Date: {FormatDate(today)}\n\n"),
        PromptSegment.Special(EndOfTurn),
        .. Header("user"),
        PromptSegment.User(question),
        PromptSegment.Special(EndOfTurn),
        .. Header("assistant"),
    ];

    /// <summary><see cref="TextPrompt(string, DateOnly)"/> dated by <paramref name="clock"/>'s local date, as the reference's <c>strftime_now</c>.</summary>
    public static IReadOnlyList<PromptSegment> TextPrompt(string question, TimeProvider clock) =>
        TextPrompt(question, DateOnly.FromDateTime(clock.GetLocalNow().DateTime));

    /// <summary>Python's <c>strftime("%d %b %Y")</c> in the C locale, e.g. "26 Jul 2024".</summary>
    public static string FormatDate(DateOnly date) =>
        $"{date.Day:00} {MonthAbbreviations[date.Month - 1]} {date.Year:0000}";

    /// <summary>The rendered text, special tokens written out; what HF's <c>apply_chat_template</c> returns (plus the added BOS).</summary>
    public static string Render(IEnumerable<PromptSegment> segments) => string.Concat(segments.Select(s => s.Text));

    private static PromptSegment[] Start() => [PromptSegment.Special(BeginOfText), PromptSegment.Special(BeginOfText)];

    private static PromptSegment[] Header(string role) =>
        [PromptSegment.Special(StartHeader), PromptSegment.Template(role), PromptSegment.Special(EndHeader), PromptSegment.Template("\n\n")];
}
