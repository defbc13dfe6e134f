namespace LlavaCot.Training.Eval;

/// <summary>
/// One question to evaluate: the encoded image (or none), the question as the model sees it, and what counts as
/// right. <paramref name="Accept"/> holds every answer graded as correct (a multiple-choice letter and its text).
/// </summary>
/// <param name="Reference">The full tagged reference answer, when the dataset has one (judge agreement on captions needs it).</param>
public sealed record EvalItem(string Id, ReadOnlyMemory<byte>? Image, string Question, IReadOnlyList<string> Accept, string? Reference, string? Type)
{
    /// <summary>Whether an answer's CONCLUSION, trimmed and case-folded, is one of the accepted answers.</summary>
    public bool IsCorrect(string conclusion) =>
        Accept.Any(a => string.Equals(a.Trim(), conclusion.Trim(), StringComparison.OrdinalIgnoreCase));
}
