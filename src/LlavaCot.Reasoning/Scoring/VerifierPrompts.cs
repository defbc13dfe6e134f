using LlavaCot.Reasoning.Judging;

namespace LlavaCot.Reasoning.Scoring;

/// <summary>
/// The verifier's prompts: one per stage, each asking for the reply "correct" or "incorrect". The candidate comes
/// last, after the instruction, the question and any hint, so the prompts of a stage's candidates share all the rest
/// (the prefix cache holds it). The reasoning stage uses the reference's correctness pre-check, text only, with the
/// caption as the given information; every other stage is checked with the image, without which a caption cannot be.
/// </summary>
public static class VerifierPrompts
{
    public const string Correct = "correct";
    public const string Incorrect = "incorrect";

    private const string Intro = "Now you act as a verifier, helping me determine whether ";

    private const string Verdict = "\nYou should output 'correct' if ";

    // Each prompt is its instruction, which ends where the candidate begins, then the candidate.

    public static string Summary(string question) =>
        Intro + "the summary of how to solve the question is correct. The summary should outline the main approach " +
        "instead of stating specific analytical reasoning or math formula, and the approach must fit the question and the image." +
        Verdict + "the summary is a sound plan for answering the question, and 'incorrect' if it is not." +
        "\n\nQuestion: " + question + "\n\nSummary: ";

    public static string Caption(string question) =>
        Intro + "the caption of the image is correct. The caption should describe the information in the image related to " +
        "the question; check every detail it states against the image." +
        Verdict + "everything the caption states matches the image, and 'incorrect' if anything does not." +
        "\n\nQuestion: " + question + "\n\nCaption: ";

    public static string Conclusion(string question, string hint) =>
        Intro + "the conclusion correctly answers the question. The conclusion should follow from the reasoning in the hint " +
        "and must not refuse to answer the question." +
        Verdict + "the conclusion is the right answer to the question about the image, and 'incorrect' if it is not." +
        "\n\nQuestion: " + question + "\n\nHint about the Question: " + hint + "\n\nConclusion: ";

    public static string Answer(string question) =>
        Intro + "the answer to the question is correct." +
        Verdict + "the answer is right for the question about the image, and 'incorrect' if it is not." +
        "\n\nQuestion: " + question + "\n\nAnswer: ";

    /// <summary>
    /// The request that verifies a candidate's text as a stage of <paramref name="type"/> (whole answers: All), or null
    /// when the text lacks what the stage needs (its tags, and the earlier stages a hint comes from).
    /// </summary>
    public static ScoreRequest? For(JudgeType type, string question, string text)
    {
        if (JudgeExtraction.From(type, text) is not { } part)
            return null;
        var (instruction, withImage) = type switch
        {
            JudgeType.Summary => (Summary(question), true),
            JudgeType.Caption => (Caption(question), true),
            JudgeType.Reasoning => (JudgePrompts.PreCheck(part.Hint ?? "", ""), false),
            JudgeType.Conclusion => (Conclusion(question, part.Hint ?? ""), true),
            JudgeType.All => (Answer(question), true),
            _ => throw new ArgumentOutOfRangeException(nameof(type), $"the verifier does not score {type} candidates"),
        };
        return new ScoreRequest(instruction, part.Content, withImage, [Correct, Incorrect]);
    }
}
