using LlavaCot.Reasoning;

namespace LlavaCot.Training.Shapes;

/// <summary>A flat-filled shape: its kind, colour, size class and bounding box (a square <see cref="Width"/> wide).</summary>
/// <param name="Left">Leftmost pixel column of the shape.</param>
public sealed record Shape(string Kind, string Colour, bool Large, int Left, int Top, int Width)
{
    public int Right => Left + Width;
    public int Bottom => Top + Width;

    /// <summary>"a small red circle".</summary>
    public string Phrase => $"a {(Large ? "large" : "small")} {Colour} {Kind}";

    /// <summary>"the small red circle".</summary>
    public string Definite => $"the {(Large ? "large" : "small")} {Colour} {Kind}";
}

/// <summary>
/// One picture of the shapes task: a uniform grey background and 1–5 shapes, fully inside the canvas and at least
/// <see cref="Gap"/> pixels apart, listed left to right by their leftmost pixel.
/// </summary>
public sealed record ShapeScene(int Background, IReadOnlyList<Shape> Shapes)
{
    public const int Size = 224;
    public const int Gap = 4;
    public const int MaxShapes = 5;

    public static readonly string[] Kinds = ["circle", "square", "triangle"];
    public static readonly string[] Colours = ["red", "green", "blue", "yellow"];

    /// <summary>The fill of each colour word.</summary>
    public static readonly IReadOnlyDictionary<string, (byte R, byte G, byte B)> Fills = new Dictionary<string, (byte, byte, byte)>
    {
        ["red"] = (220, 40, 40),
        ["green"] = (40, 170, 60),
        ["blue"] = (40, 80, 220),
        ["yellow"] = (235, 200, 30),
    };

    public int Count(Func<Shape, bool> match) => Shapes.Count(match);

    /// <summary>
    /// A random scene: grey 225–255, <paramref name="minShapes"/>–5 shapes (uniform), each small (28–40 px) or large
    /// (56–72 px), placed without touching.
    /// </summary>
    public static ShapeScene Random(SeedStream rng, int minShapes = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minShapes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minShapes, MaxShapes);
        while (true)
        {
            var background = 225 + rng.NextInt(31);
            var wanted = minShapes + rng.NextInt(MaxShapes - minShapes + 1);
            var shapes = new List<Shape>();
            for (var tries = 0; shapes.Count < wanted && tries < 200; tries++)
            {
                var large = rng.NextInt(2) == 1;
                var width = large ? 56 + rng.NextInt(17) : 28 + rng.NextInt(13);
                var shape = new Shape(Kinds[rng.NextInt(Kinds.Length)], Colours[rng.NextInt(Colours.Length)], large,
                    rng.NextInt(Size - width + 1), rng.NextInt(Size - width + 1), width);
                if (shapes.All(s => Apart(s, shape)))
                    shapes.Add(shape);
            }
            // A crowded draw that could not place every shape starts over, so the count stays uniform.
            if (shapes.Count == wanted)
                return new ShapeScene(background, shapes.OrderBy(s => s.Left).ThenBy(s => s.Top).ToList());
        }
    }

    /// <summary>Bounding boxes at least <see cref="Gap"/> pixels apart on one axis: the shapes cannot touch.</summary>
    public static bool Apart(Shape a, Shape b) =>
        a.Right + Gap <= b.Left || b.Right + Gap <= a.Left || a.Bottom + Gap <= b.Top || b.Bottom + Gap <= a.Top;
}
