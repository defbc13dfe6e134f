using LlavaCot.Reasoning;

namespace LlavaCot.Training.Shapes;

/// <summary>
/// Wrong versions of an answer's stages, for judge examples: a caption with a wrong colour, shape, count or order; a
/// reasoning that does not follow from the caption; a wrong conclusion; a summary that names another task.
/// </summary>
public static class ShapeCorruption
{
    /// <summary>A caption of a scene that differs from <paramref name="scene"/> in one way.</summary>
    public static string Caption(ShapeScene scene, SeedStream rng)
    {
        var shapes = scene.Shapes.ToList();
        var i = rng.NextInt(shapes.Count);
        switch (rng.NextInt(4))
        {
            case 0:
                shapes[i] = shapes[i] with { Colour = Other(ShapeScene.Colours, shapes[i].Colour, rng) };
                break;
            case 1:
                shapes[i] = shapes[i] with { Kind = Other(ShapeScene.Kinds, shapes[i].Kind, rng) };
                break;
            case 2 when shapes.Count > 1 && rng.NextInt(2) == 0:
                shapes.RemoveAt(i);
                break;
            case 2:
                shapes.Insert(i, shapes[i] with { Colour = ShapeScene.Colours[rng.NextInt(ShapeScene.Colours.Length)] });
                break;
            default:
                if (shapes.Count > 1 && shapes.Select(s => s.Phrase).Distinct().Count() > 1)
                {
                    var j = (i + 1 + rng.NextInt(shapes.Count - 1)) % shapes.Count;
                    (shapes[i], shapes[j]) = (shapes[j], shapes[i]);
                    if (shapes[i].Phrase == shapes[j].Phrase)
                        return Caption(scene, rng);
                }
                else
                    shapes[i] = shapes[i] with { Large = !shapes[i].Large };
                break;
        }
        return ShapeAnswer.Describe(scene with { Shapes = shapes });
    }

    /// <summary>
    /// Reasoning for the question as if the scene were different in one shape: its steps or result no longer follow
    /// from the (correct) caption. Falls back to a wrong final number or word when the change would not show.
    /// </summary>
    public static string Reasoning(ShapeScene scene, ShapeQuestion question, SeedStream rng)
    {
        var right = question.Reasoning(scene);
        for (var attempt = 0; attempt < 8; attempt++)
        {
            var shapes = scene.Shapes.ToList();
            var i = rng.NextInt(shapes.Count);
            shapes[i] = rng.NextInt(2) == 0
                ? shapes[i] with { Colour = Other(ShapeScene.Colours, shapes[i].Colour, rng) }
                : shapes[i] with { Kind = Other(ShapeScene.Kinds, shapes[i].Kind, rng) };
            var other = scene with { Shapes = shapes };
            if (ShapeQuestion.Defined(other, question.Type).Contains(question) && question.Reasoning(other) != right)
                return question.Reasoning(other);
        }
        var answer = question.Answer(scene);
        var at = right.LastIndexOf(answer, StringComparison.Ordinal);
        var wrong = Conclusion(scene, question, rng);
        return at < 0 ? $"{right} So the answer is {wrong}." : right[..at] + wrong + right[(at + answer.Length)..];
    }

    /// <summary>A wrong answer of the right kind: another number, colour, shape, or the other of Yes and No.</summary>
    public static string Conclusion(ShapeScene scene, ShapeQuestion question, SeedStream rng)
    {
        var answer = question.Answer(scene);
        return answer switch
        {
            "Yes" => "No",
            "No" => "Yes",
            _ when int.TryParse(answer, out var n) => Other(Enumerable.Range(0, 6).Select(k => k.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
                n.ToString(System.Globalization.CultureInfo.InvariantCulture), rng),
            _ when ShapeScene.Colours.Contains(answer) => Other(ShapeScene.Colours, answer, rng),
            _ => Other(ShapeScene.Kinds, answer, rng),
        };
    }

    /// <summary>The summary of another question type: it names the wrong task.</summary>
    public static string Summary(ShapeScene scene, ShapeQuestion question, SeedStream rng)
    {
        while (true)
        {
            var type = ShapeQuestion.Types[rng.NextInt(ShapeQuestion.Types.Length)];
            if (type == question.Type || ShapeQuestion.Defined(scene, type) is not { Count: > 0 } choices)
                continue;
            return choices[rng.NextInt(choices.Count)].Summary;
        }
    }

    private static string Other(string[] values, string current, SeedStream rng)
    {
        var others = values.Where(v => v != current).ToList();
        return others[rng.NextInt(others.Count)];
    }
}
