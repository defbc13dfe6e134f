namespace LlavaCot.Training.Shapes;

/// <summary>The four stages of a reference answer, kept apart so that a judge example can corrupt one of them.</summary>
public sealed record ShapeAnswer(string Summary, string Caption, string Reasoning, string Conclusion)
{
    /// <summary>The correct answer to <paramref name="question"/> about <paramref name="scene"/>.</summary>
    public static ShapeAnswer For(ShapeScene scene, ShapeQuestion question) =>
        new(question.Summary, Describe(scene), question.Reasoning(scene), question.Answer(scene));

    /// <summary>"The image shows 3 shapes on a grey background. From left to right: a small red circle, ... and ...".</summary>
    public static string Describe(ShapeScene scene) =>
        $"The image shows {ShapeQuestion.Plural(scene.Shapes.Count, "shape")} on a grey background. " +
        $"From left to right: {ShapeQuestion.Join(scene.Shapes.Select(s => s.Phrase))}.";

    /// <summary>LLaVA-CoT's format: the four tagged stages, separated by blank lines.</summary>
    public string Text =>
        $"{Tagged("SUMMARY", Summary)}\n\n{Tagged("CAPTION", Caption)}\n\n{Tagged("REASONING", Reasoning)}\n\n{Tagged("CONCLUSION", Conclusion)}";

    /// <summary>One stage as the answers write it: "&lt;TAG&gt; text &lt;/TAG&gt;".</summary>
    public static string Tagged(string tag, string text) => $"<{tag}> {text} </{tag}>";
}
