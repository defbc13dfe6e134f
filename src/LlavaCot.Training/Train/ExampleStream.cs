using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Judging;
using LlavaCot.Training.Shapes;

namespace LlavaCot.Training.Train;

/// <summary>
/// How training examples are mixed: the share of steps spent on each kind of batch. Caption batches are perception
/// practice: busier scenes and only the CAPTION stage. Reasoning batches are text-only practice in following a
/// caption: the answer's first two stages are given, the REASONING and CONCLUSION are learned, with no vision pass.
/// The defaults are the shipped model's (see models/demo/README.md for what the other shares did).
/// </summary>
public sealed record ExampleMix(double Answers = 0.85, double Captions = 0, double Reasonings = 0, double Judges = 0.11, double PreChecks = 0.04)
{
    public string Pick(double u) =>
        Shares.Pick(u, ("answer", Answers), ("caption", Captions), ("reasoning", Reasonings), ("judge", Judges), ("pre_check", PreChecks));
}

/// <summary>Picks a kind of batch by its share of the steps.</summary>
public static class Shares
{
    /// <summary>The kind whose slice of [0, 1) holds <paramref name="u"/>, slices laid out in order; the last takes what is left.</summary>
    public static string Pick(double u, params (string Kind, double Share)[] shares)
    {
        var upTo = 0.0;
        foreach (var (kind, share) in shares[..^1])
        {
            upTo += share;
            if (u < upTo)
                return kind;
        }
        return shares[^1].Kind;
    }
}

/// <summary>One training example and, when it shows the image, the scene it asks about.</summary>
public sealed record Sample(TrainingExample Example, ShapeScene? Scene);

/// <summary>
/// An endless, seeded stream of training samples of the shapes task: answer examples, caption and reasoning practice,
/// pairwise judge examples of every type the modes use, and text-only pre-checks. Scenes come from the generator under the training seed, so
/// a held-out evaluation set written with another seed never overlaps it.
/// </summary>
public sealed class ExampleStream(ulong seed)
{
    private readonly SeedStream _rng = new(seed ^ 0x7472_6169_6E21UL);
    private int _index;

    /// <summary>Caption practice shows at least this many shapes: crowded scenes are where shapes get mixed up.</summary>
    public const int CaptionMinShapes = 3;

    /// <summary>Examples drawn so far (to resume a stream at the same place).</summary>
    public int Position => _index;

    public Sample Next(string kind)
    {
        if (kind == "caption")
        {
            var busy = ShapeDataset.Scene(seed, _index++, CaptionMinShapes);
            return new Sample(JudgeExamples.Describe(busy), busy);
        }
        var (scene, question, answer) = ShapeDataset.Draw(seed, _index++);
        return kind switch
        {
            "answer" => new Sample(JudgeExamples.Answer(question, answer), scene),
            "reasoning" => new Sample(JudgeExamples.FollowCaption(question, answer), null),
            "judge" => new Sample(JudgeExamples.Comparison(JudgeExamples.Types[_rng.NextInt(JudgeExamples.Types.Length)], scene, question, _rng), scene),
            "pre_check" => new Sample(JudgeExamples.PreCheck(scene, question, _rng), null),
            _ => throw new ArgumentException($"unknown example kind '{kind}'"),
        };
    }

    /// <summary>A batch of <paramref name="size"/> samples of one kind (their prompts are alike, so padding stays small).</summary>
    public IReadOnlyList<Sample> Batch(string kind, int size) => Enumerable.Range(0, size).Select(_ => Next(kind)).ToList();

    public double NextDouble() => _rng.NextDouble();
}
