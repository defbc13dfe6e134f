using LlavaCot.Reasoning;

namespace LlavaCot.Training.Shapes;

/// <summary>
/// One of the nine question templates of the shapes task, with its parameters. Each knows its answer for a scene,
/// the task its SUMMARY names, and the short steps its REASONING takes from the caption.
/// </summary>
public sealed record ShapeQuestion(string Type, string? Colour = null, string? Colour2 = null, string? Kind = null, string? Kind2 = null)
{
    public const string CountAll = "count_all";
    public const string CountColour = "count_colour";
    public const string CountKind = "count_kind";
    public const string ColourOfKind = "colour_of_kind";
    public const string KindOfColour = "kind_of_colour";
    public const string Exists = "exists";
    public const string MoreThan = "more_than";
    public const string LeftmostColour = "leftmost_colour";
    public const string CountTwoColours = "count_two_colours";

    public static readonly string[] Types =
        [CountAll, CountColour, CountKind, ColourOfKind, KindOfColour, Exists, MoreThan, LeftmostColour, CountTwoColours];

    /// <summary>Leftmost pixels this far apart at least, or "the leftmost shape" is not asked.</summary>
    public const int LeftmostMargin = 4;

    public string Text => Type switch
    {
        CountAll => "How many shapes are in the image?",
        CountColour => $"How many {Colour} shapes are there?",
        CountKind => $"How many {Kind}s are there?",
        ColourOfKind => $"What colour is the {Kind}?",
        KindOfColour => $"What shape is the {Colour} object?",
        Exists => $"Is there a {Colour} {Kind}?",
        MoreThan => $"Are there more {Kind}s than {Kind2}s?",
        LeftmostColour => "What colour is the leftmost shape?",
        CountTwoColours => $"How many {Colour} or {Colour2} shapes are there in total?",
        _ => throw new InvalidOperationException($"unknown question type '{Type}'"),
    };

    /// <summary>The SUMMARY: which task the answer sets out to do.</summary>
    public string Summary => Type switch
    {
        CountAll => "I will count every shape in the image.",
        CountColour => $"I will count the {Colour} shapes in the image.",
        CountKind => $"I will count the {Kind}s in the image.",
        ColourOfKind => $"I will find the {Kind} and name its colour.",
        KindOfColour => $"I will find the {Colour} object and name its shape.",
        Exists => $"I will check whether the image holds a {Colour} {Kind}.",
        MoreThan => $"I will count the {Kind}s and the {Kind2}s and compare the two numbers.",
        LeftmostColour => "I will find the shape furthest to the left and name its colour.",
        CountTwoColours => $"I will count the {Colour} shapes and the {Colour2} shapes and add them.",
        _ => throw new InvalidOperationException($"unknown question type '{Type}'"),
    };

    public string Answer(ShapeScene scene) => Type switch
    {
        CountAll => Digit(scene.Shapes.Count),
        CountColour => Digit(scene.Count(s => s.Colour == Colour)),
        CountKind => Digit(scene.Count(s => s.Kind == Kind)),
        ColourOfKind => scene.Shapes.Single(s => s.Kind == Kind).Colour,
        KindOfColour => scene.Shapes.Single(s => s.Colour == Colour).Kind,
        Exists => YesNo(scene.Shapes.Any(s => s.Colour == Colour && s.Kind == Kind)),
        MoreThan => YesNo(scene.Count(s => s.Kind == Kind) > scene.Count(s => s.Kind == Kind2)),
        LeftmostColour => scene.Shapes[0].Colour,
        CountTwoColours => Digit(scene.Count(s => s.Colour == Colour || s.Colour == Colour2)),
        _ => throw new InvalidOperationException($"unknown question type '{Type}'"),
    };

    /// <summary>
    /// The REASONING: short steps from the caption's list to the answer. Questions that pick shapes out of the list walk
    /// it shape by shape, each step naming the shape, the attribute that decides, and a running count where one counts:
    /// every step is then a local decision, where a small decoder fails at picking all the members out in one go.
    /// </summary>
    public string Reasoning(ShapeScene scene)
    {
        switch (Type)
        {
            case CountAll:
                return $"Counting the shapes in the caption one by one: {string.Join(", ", Enumerable.Range(1, scene.Shapes.Count))}. " +
                       $"There {Are(scene.Shapes.Count)} {Plural(scene.Shapes.Count, "shape")}.";
            case CountColour:
                return Walk(scene.Shapes, s => $"is {s.Colour}", s => s.Colour == Colour) + $" That makes {Plural(scene.Count(s => s.Colour == Colour), $"{Colour} shape")}.";
            case CountKind:
                return Walk(scene.Shapes, s => $"is a {s.Kind}", s => s.Kind == Kind) + $" That makes {Plural(scene.Count(s => s.Kind == Kind), Kind!)}.";
            case ColourOfKind:
                var only = scene.Shapes.Single(s => s.Kind == Kind);
                return Walk(Through(scene, only), s => s == only ? $"is the {Kind}" : $"is a {s.Kind}") + $" Its colour is {only.Colour}.";
            case KindOfColour:
                var one = scene.Shapes.Single(s => s.Colour == Colour);
                return Walk(Through(scene, one), s => s == one ? $"is the {Colour} one" : $"is {s.Colour}") + $" It is a {one.Kind}.";
            case Exists:
                var found = scene.Shapes.FirstOrDefault(s => s.Colour == Colour && s.Kind == Kind);
                return Walk(found is null ? scene.Shapes : Through(scene, found), s => s == found ? $"is a {Colour} {Kind}" : $"is not a {Colour} {Kind}") +
                       $" So the answer is {(found is null ? "No" : "Yes")}.";
            case MoreThan:
                var (first, second) = (scene.Count(s => s.Kind == Kind), scene.Count(s => s.Kind == Kind2));
                var counts = new Dictionary<string, int> { [Kind!] = 0, [Kind2!] = 0 };
                var steps = scene.Shapes.Select(s => counts.ContainsKey(s.Kind)
                    ? $"{s.Definite} is a {s.Kind} ({Plural(++counts[s.Kind], s.Kind)})"
                    : $"{s.Definite} is a {s.Kind}");
                return $"Going through the caption: {string.Join("; ", steps)}. There {Are(first)} {Plural(first, Kind!)} and {Plural(second, Kind2!)}. " +
                       (first > second ? $"{first} is more than {second}, so the answer is Yes." : $"{first} is not more than {second}, so the answer is No.");
            case LeftmostColour:
                return $"The first shape from the left is {scene.Shapes[0].Definite}. Its colour is {scene.Shapes[0].Colour}.";
            case CountTwoColours:
                var both = scene.Count(s => s.Colour == Colour || s.Colour == Colour2);
                return Walk(scene.Shapes, s => $"is {s.Colour}", s => s.Colour == Colour || s.Colour == Colour2) +
                       $" That makes {Plural(both, $"shape")} that {Are(both)} {Colour} or {Colour2}.";
            default:
                throw new InvalidOperationException($"unknown question type '{Type}'");
        }
    }

    /// <summary>
    /// "Going through the caption: the small red circle is red; the large blue square is blue (1)." Each shape with what
    /// it is, and where <paramref name="counts"/> holds for it, the running count.
    /// </summary>
    private static string Walk(IEnumerable<Shape> shapes, Func<Shape, string> what, Func<Shape, bool>? counts = null)
    {
        var n = 0;
        var steps = shapes.Select(s => $"{s.Definite} {what(s)}" + (counts?.Invoke(s) == true ? $" ({++n})" : ""));
        return $"Going through the caption: {string.Join("; ", steps)}.";
    }

    /// <summary>The shapes from the left up to and including <paramref name="last"/>: a search stops where it finds.</summary>
    private static IEnumerable<Shape> Through(ShapeScene scene, Shape last) => scene.Shapes.Take(scene.Shapes.ToList().IndexOf(last) + 1);

    /// <summary>Every question with a well-defined answer for the scene, by template.</summary>
    public static IReadOnlyList<ShapeQuestion> Defined(ShapeScene scene, string type) => type switch
    {
        CountAll => [new(CountAll)],
        CountColour => ShapeScene.Colours.Select(c => new ShapeQuestion(CountColour, Colour: c)).ToList(),
        CountKind => ShapeScene.Kinds.Select(k => new ShapeQuestion(CountKind, Kind: k)).ToList(),
        ColourOfKind => ShapeScene.Kinds.Where(k => scene.Count(s => s.Kind == k) == 1).Select(k => new ShapeQuestion(ColourOfKind, Kind: k)).ToList(),
        KindOfColour => ShapeScene.Colours.Where(c => scene.Count(s => s.Colour == c) == 1).Select(c => new ShapeQuestion(KindOfColour, Colour: c)).ToList(),
        Exists => [.. from c in ShapeScene.Colours from k in ShapeScene.Kinds select new ShapeQuestion(Exists, Colour: c, Kind: k)],
        MoreThan => [.. from a in ShapeScene.Kinds from b in ShapeScene.Kinds where a != b select new ShapeQuestion(MoreThan, Kind: a, Kind2: b)],
        LeftmostColour => scene.Shapes.Count == 1 || scene.Shapes[1].Left - scene.Shapes[0].Left >= LeftmostMargin ? [new(LeftmostColour)] : [],
        CountTwoColours => [.. from a in ShapeScene.Colours from b in ShapeScene.Colours
            where string.CompareOrdinal(a, b) < 0 select new ShapeQuestion(CountTwoColours, Colour: a, Colour2: b)],
        _ => throw new ArgumentException($"unknown question type '{type}'"),
    };

    /// <summary>
    /// A question for the scene: a template drawn uniformly among those defined for it, then its parameters; "is there"
    /// asks about a shape that is there half the time, so Yes and No are balanced.
    /// </summary>
    public static ShapeQuestion Random(ShapeScene scene, SeedStream rng)
    {
        var templates = Types.Where(t => Defined(scene, t).Count > 0).ToList();
        var type = templates[rng.NextInt(templates.Count)];
        var choices = Defined(scene, type);
        if (type == Exists && rng.NextInt(2) == 0)
        {
            var present = scene.Shapes[rng.NextInt(scene.Shapes.Count)];
            return new ShapeQuestion(Exists, Colour: present.Colour, Kind: present.Kind);
        }
        return choices[rng.NextInt(choices.Count)];
    }

    internal static string Join(IEnumerable<string> items)
    {
        var list = items.ToList();
        return list.Count <= 1 ? string.Concat(list) : $"{string.Join(", ", list.Take(list.Count - 1))} and {list[^1]}";
    }

    internal static string Plural(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";

    private static string Are(int n) => n == 1 ? "is" : "are";

    private static string Digit(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string YesNo(bool yes) => yes ? "Yes" : "No";
}
