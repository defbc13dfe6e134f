namespace LlavaCot.Reasoning.Judging;

/// <summary>
/// The judge prompt texts of LLaVA-CoT's reference code, byte for byte: the typo "Repsonse", the U+2019 in
/// "don’t", and the pre-check's source indentation, trailing spaces and typo "invovles" are part of the data.
/// </summary>
public static class JudgePrompts
{
    private const string IntroStart = "Now you act as a judge, helping me determine which of the two texts I provide ";

    private const string ReasoningRecall =
        "Begin by thoroughly reviewing the question, followed by an in-depth examination of each answer individually, " +
        "noting any differences. Subsequently, analyze these differences to determine which response demonstrates " +
        "stronger reasoning and provide a clear conclusion.";

    public const string CorrectnessCheck =
        "Now you act as a judge, helping me determine whether the reasoning process in the given text is correct and accurate based on the given information.\n" +
        "        You should assume that the given information about the image is correct.\n" +
        "        You should only consider the reasoning process itself, not the correctness of the background information.  \n" +
        "        If the reasoning process invovles any calculations, you should verify the accuracy of the calculations.\n" +
        "        You should output 'correct' if you don't find any errors in the reasoning process, and 'incorrect' if you find any errors.";

    public static string Intro(JudgeType type) => type switch
    {
        JudgeType.All => IntroStart + "better answers the question.",
        JudgeType.Sentence => IntroStart + "is a better next sentence for the answer to the question.",
        JudgeType.Summary => IntroStart + "better provides a summary of what it should do to solve the question. " +
                             "The summary should focus on outlining the main approach instead of stating specific analytical reasoning or math formula.",
        JudgeType.Caption => IntroStart + "better summarizes the information in the image related to the question, and has fewer errors. " +
                             "It is essential that the captions are as thorough as possible while remaining accurate, capturing as many details " +
                             "as possible rather than providing only general commentary.",
        JudgeType.Reasoning => IntroStart + "better explains the reasoning process to solve the question, and has fewer errors. " + ReasoningRecall,
        JudgeType.Conclusion => IntroStart + "offers a more effective conclusion to the question. " +
                                "The conclusion should align with the reasoning presented in the hint. The conclusion should never refuse to answer the question.",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static string Recall(JudgeType type) => type switch
    {
        JudgeType.All or JudgeType.Sentence => "",
        JudgeType.Summary => "Please note that a better summary should focus on outlining the main approach instead of stating specific analytical reasoning or math formula.",
        JudgeType.Caption => "Please note that a better caption should be as thorough as possible while remaining accurate, capturing as many details as possible rather than providing only general commentary.",
        JudgeType.Reasoning => ReasoningRecall,
        JudgeType.Conclusion => "Please note that a better conclusion should align with the reasoning presented in the hint. The conclusion should never refuse to answer the question.",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The pairwise judge prompt; the hint is shown only when non-empty, like the reference's truthiness test.</summary>
    public static string Comparison(JudgeType type, string question, string? hint, IReadOnlyList<string> responses)
    {
        var text = Intro(type) + "\n\nQuestion: " + question;
        if (!string.IsNullOrEmpty(hint))
            text += "\n\nHint about the Question: " + hint;
        for (var i = 0; i < responses.Count; i++)
            text += $"\nRepsonse {i + 1}: {responses[i]}";
        text += "\n\n" + Recall(type);
        text += " Please strictly follow the following format requirements when outputting, and don\u2019t have any other unnecessary words.";
        text += "\n\nOutput format: \"Since [reason], I choose response [1/2].\"";
        return text;
    }

    /// <summary>The text-only correctness pre-check of the reasoning stage.</summary>
    public static string PreCheck(string hint, string reasoning) =>
        CorrectnessCheck + "\n\nGiven Information: " + hint + "\n\nReasoning Process: " + reasoning;
}
