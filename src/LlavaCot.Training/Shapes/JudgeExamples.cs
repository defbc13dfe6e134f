using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Judging;

namespace LlavaCot.Training.Shapes;

/// <summary>One supervised example: a user turn (with or without the image) and the reply the model should give.</summary>
/// <param name="Kind">answer, caption, reasoning, judge:&lt;type&gt; or pre_check (for the training mix and its report).</param>
/// <param name="Given">The reply's opening, shown to the model but not learned (the reply continues it).</param>
public sealed record TrainingExample(string Kind, string Prompt, bool WithImage, string Reply, string Given = "");

/// <summary>
/// Judge and pre-check examples for the shapes task, built with the search's own prompt builder and extraction
/// (<see cref="JudgePrompts"/>, <see cref="JudgeExtraction"/>), so training and serving see the same prompts. Each
/// pairs the reference answer with a corrupted one, in a random order, and replies
/// "Since [reason], I choose response K." with K the correct one.
/// </summary>
public static class JudgeExamples
{
    /// <summary>The judge types the modes use.</summary>
    public static readonly JudgeType[] Types =
        [JudgeType.Summary, JudgeType.Caption, JudgeType.Reasoning, JudgeType.Conclusion, JudgeType.All, JudgeType.Sentence];

    private static readonly IReadOnlyDictionary<JudgeType, string> Reasons = new Dictionary<JudgeType, string>
    {
        [JudgeType.Summary] = "it sets out to do what the question asks",
        [JudgeType.Caption] = "it describes the shapes in the image correctly",
        [JudgeType.Reasoning] = "its steps follow correctly from the caption",
        [JudgeType.Conclusion] = "it gives the answer that the reasoning reaches",
        [JudgeType.All] = "it answers the question correctly",
        [JudgeType.Sentence] = "it continues the answer correctly",
    };

    /// <summary>The answer example: the question about the image, replied with the full tagged reference answer.</summary>
    public static TrainingExample Answer(ShapeQuestion question, ShapeAnswer answer) => new("answer", question.Text, true, answer.Text);

    /// <summary>What caption practice asks.</summary>
    public const string DescribePrompt = "Describe the shapes in the image from left to right.";

    /// <summary>Caption practice: the CAPTION stage alone, exactly as it appears inside an answer.</summary>
    public static TrainingExample Describe(ShapeScene scene) =>
        new("caption", DescribePrompt, true, ShapeAnswer.Tagged("CAPTION", ShapeAnswer.Describe(scene)));

    /// <summary>
    /// Reasoning practice, text only: the SUMMARY and CAPTION are given, the REASONING and CONCLUSION learned. Without
    /// the image, the caption is the only place the answer can come from, so this teaches following it.
    /// </summary>
    public static TrainingExample FollowCaption(ShapeQuestion question, ShapeAnswer answer)
    {
        var given = Through(answer, 2) + "\n\n";
        return new TrainingExample("reasoning", question.Text, false, answer.Text[given.Length..], given);
    }

    /// <summary>A pairwise judge example of <paramref name="type"/> for this question.</summary>
    public static TrainingExample Comparison(JudgeType type, ShapeScene scene, ShapeQuestion question, SeedStream rng)
    {
        var (first, second, firstIsGood) = Pair(type, scene, question, rng);
        return Compared(type, question.Text, first, second, firstIsGood);
    }

    /// <summary>
    /// The judge example for two candidate texts (each as the search holds it: the answer so far) of which the first or
    /// the second is the right one.
    /// </summary>
    public static TrainingExample Compared(JudgeType type, string question, string first, string second, bool firstIsGood)
    {
        var a = JudgeExtraction.From(type, first) ?? throw new InvalidOperationException($"{type}: candidate lacks its tags");
        var b = JudgeExtraction.From(type, second) ?? throw new InvalidOperationException($"{type}: candidate lacks its tags");
        // As in the search: the hint is the second candidate's (both share the earlier stages).
        var prompt = JudgePrompts.Comparison(type, question, b.Hint ?? a.Hint, [a.Content, b.Content]);
        return new TrainingExample($"judge:{type.ToString().ToLowerInvariant()}", prompt, true,
            $"Since {Reasons[type]}, I choose response {(firstIsGood ? 1 : 2)}.");
    }

    /// <summary>The two candidate texts in the order the judge sees them, and whether the first is the correct one.</summary>
    public static (string First, string Second, bool FirstIsGood) Pair(JudgeType type, ShapeScene scene, ShapeQuestion question, SeedStream rng)
    {
        var (good, bad) = Candidates(type, scene, question, ShapeAnswer.For(scene, question), rng);
        var firstIsGood = rng.NextInt(2) == 0;
        return firstIsGood ? (good, bad, true) : (bad, good, false);
    }

    /// <summary>A reasoning pre-check example (text only): the caption as given information, then a right or wrong reasoning.</summary>
    public static TrainingExample PreCheck(ShapeScene scene, ShapeQuestion question, SeedStream rng)
    {
        var right = ShapeAnswer.For(scene, question);
        var correct = rng.NextInt(2) == 0;
        var reasoning = correct ? right.Reasoning : ShapeCorruption.Reasoning(scene, question, rng);
        // The contents as the search extracts them: tag groups, unstripped.
        return new TrainingExample("pre_check", JudgePrompts.PreCheck($" {right.Caption} ", $" {reasoning} "), false,
            correct ? "correct" : "incorrect");
    }

    /// <summary>The two candidate texts (correct, corrupted) as the search would hold them at this judge type's point.</summary>
    private static (string Good, string Bad) Candidates(JudgeType type, ShapeScene scene, ShapeQuestion question, ShapeAnswer right, SeedStream rng)
    {
        switch (type)
        {
            case JudgeType.Summary:
                return (Through(right, 1), Through(right with { Summary = ShapeCorruption.Summary(scene, question, rng) }, 1));
            case JudgeType.Caption:
                return (Through(right, 2), Through(right with { Caption = ShapeCorruption.Caption(scene, rng) }, 2));
            case JudgeType.Reasoning:
                return (Through(right, 3), Through(right with { Reasoning = ShapeCorruption.Reasoning(scene, question, rng) }, 3));
            case JudgeType.Conclusion:
                return (right.Text, (right with { Conclusion = ShapeCorruption.Conclusion(scene, question, rng) }).Text);
            case JudgeType.All:
                var wrong = rng.NextInt(3) switch
                {
                    0 => right with { Caption = ShapeCorruption.Caption(scene, rng) },
                    1 => right with { Reasoning = ShapeCorruption.Reasoning(scene, question, rng) },
                    _ => right,
                };
                return (right.Text, (wrong with { Conclusion = ShapeCorruption.Conclusion(scene, question, rng) }).Text);
            case JudgeType.Sentence:
                return Sentences(scene, question, right, rng);
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

    /// <summary>The answer text through stage <paramref name="stages"/> (1 = SUMMARY … 4 = all), as a stage candidate ends.</summary>
    private static string Through(ShapeAnswer answer, int stages)
    {
        var parts = answer.Text.Split("\n\n");
        return string.Join("\n\n", parts.Take(stages));
    }

    /// <summary>
    /// Sentence-level candidates: the answer cut after the first sentence where a corrupted answer differs from it;
    /// the wrong candidate ends in the corrupted answer's version of that sentence.
    /// </summary>
    private static (string Good, string Bad) Sentences(ShapeScene scene, ShapeQuestion question, ShapeAnswer right, SeedStream rng)
    {
        var wrong = right with
        {
            Caption = ShapeCorruption.Caption(scene, rng),
            Reasoning = ShapeCorruption.Reasoning(scene, question, rng),
        };
        var a = right.Text.Split('.');
        var b = wrong.Text.Split('.');
        // The first sentence where they part: everything before it is shared, as between two sentence candidates.
        var k = Enumerable.Range(0, Math.Min(a.Length, b.Length) - 1).First(i => a[i] != b[i]);
        return (string.Join('.', a.Take(k + 1)) + ".", string.Join('.', a.Take(k).Append(b[k])) + ".");
    }
}
