namespace LlavaCot.Model.Inputs;

/// <summary>One turn of a conversation: its role (system, user or assistant), its text, and whether the image is in it.</summary>
public sealed record ChatTurn(string Role, string Text, bool Image = false)
{
    public static readonly string[] Roles = ["system", "user", "assistant"];
}

/// <summary>
/// The Llama-3.2-Vision instruct chat template (the long one) as LLaVA-CoT renders it. Every prompt starts with two
/// <c>&lt;|begin_of_text|&gt;</c>: the template writes one and the vision checkpoint's tokenizer adds another (the
/// reference calls the processor with special tokens on), and the model was fine-tuned that way.
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
        Conversation([new ChatTurn("user", question, Image: true)], default);

    /// <summary>
    /// A question without an image (the judge's correctness check). The long template then puts a system block
    /// with the knowledge cut-off and today's date before the user turn.
    /// </summary>
    public static IReadOnlyList<PromptSegment> TextPrompt(string question, DateOnly today) =>
        Conversation([new ChatTurn("user", question)], today);

    /// <summary>
    /// A whole conversation and the generation prompt. A first system turn is trimmed and slotted into the system
    /// block, which only a conversation without an image has (the template refuses a system text beside an image).
    /// The image token opens the turn that holds the image, as LLaVA-CoT trained on it; every text is user text.
    /// </summary>
    public static IReadOnlyList<PromptSegment> Conversation(IReadOnlyList<ChatTurn> turns, DateOnly today)
    {
        var system = turns.Count > 0 && turns[0].Role == "system" ? turns[0].Text.Trim() : "";
        var rest = turns.Count > 0 && turns[0].Role == "system" ? turns.Skip(1).ToList() : turns;
        var hasImage = rest.Any(t => t.Image);
        if (hasImage && system.Length > 0)
            throw new ArgumentException("a system message cannot be combined with an image (the chat template refuses it)");
        if (turns.Count(t => t.Image) > 1)
            throw new ArgumentException("a conversation holds at most one image");
        foreach (var turn in rest.Where(t => !ChatTurn.Roles.Contains(t.Role) || t.Role == "system"))
            throw new ArgumentException($"role '{turn.Role}' cannot appear here: a system turn comes first, then user and assistant turns");
        var segments = new List<PromptSegment>(Start());
        if (!hasImage)
        {
            segments.AddRange(Header("system"));
            segments.Add(PromptSegment.Template($"Cutting Knowledge Date: December 2023\nToday Date: {FormatDate(today)}\n\n"));
            if (system.Length > 0)
                segments.Add(PromptSegment.User(system));
            segments.Add(PromptSegment.Special(EndOfTurn));
        }
        foreach (var turn in rest)
        {
            segments.AddRange(Header(turn.Role));
            if (turn.Image)
                segments.Add(PromptSegment.Special(ImageToken.Text));
            segments.Add(PromptSegment.User(turn.Text));
            segments.Add(PromptSegment.Special(EndOfTurn));
        }
        segments.AddRange(Header("assistant"));
        return segments;
    }

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
