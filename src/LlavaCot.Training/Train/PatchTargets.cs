using LlavaCot.Training.Shapes;

namespace LlavaCot.Training.Train;

/// <summary>
/// What each patch of a scene shows, as soft targets for the perception probe: the share of the patch's pixels
/// covered by each shape, as (kind, colour, size) classes and as the shape's place from the left (the caption's
/// order); the rest of the patch is background, class 0 of both.
/// </summary>
public static class PatchTargets
{
    public static readonly int AttributeClasses = 1 + ShapeScene.Kinds.Length * ShapeScene.Colours.Length * 2;
    public const int PlaceClasses = 1 + ShapeScene.MaxShapes;

    /// <summary>Class of a shape's kind, colour and size (1-based; 0 is background).</summary>
    public static int Attribute(Shape s) =>
        1 + (Array.IndexOf(ShapeScene.Kinds, s.Kind) * ShapeScene.Colours.Length + Array.IndexOf(ShapeScene.Colours, s.Colour)) * 2 + (s.Large ? 1 : 0);

    /// <summary>
    /// Row-major patches of <paramref name="patch"/> pixels over the scene: attribute targets [patches · AttributeClasses]
    /// and place targets [patches · PlaceClasses], each patch's row summing to 1.
    /// </summary>
    public static (float[] Attributes, float[] Places) Of(ShapeScene scene, int patch)
    {
        if (ShapeScene.Size % patch != 0)
            throw new ArgumentException($"a {patch}-px patch does not divide the {ShapeScene.Size}-px scene");
        var side = ShapeScene.Size / patch;
        var attributes = new float[side * side * AttributeClasses];
        var places = new float[side * side * PlaceClasses];
        for (var p = 0; p < side * side; p++)
            (attributes[p * AttributeClasses], places[p * PlaceClasses]) = (1f, 1f);
        var share = 1f / (patch * patch);
        // Shapes never overlap, so each covered pixel moves its share from the background to one shape.
        for (var i = 0; i < scene.Shapes.Count; i++)
        {
            var s = scene.Shapes[i];
            var attribute = Attribute(s);
            for (var y = s.Top; y < Math.Min(s.Bottom, ShapeScene.Size); y++)
            for (var x = s.Left; x < Math.Min(s.Right, ShapeScene.Size); x++)
            {
                if (!Inside(s, x + 0.5, y + 0.5))
                    continue;
                var p = y / patch * side + x / patch;
                attributes[p * AttributeClasses] -= share;
                places[p * PlaceClasses] -= share;
                attributes[p * AttributeClasses + attribute] += share;
                places[p * PlaceClasses + i + 1] += share;
            }
        }
        return (attributes, places);
    }

    /// <summary>The renderer's geometry: circle in the box, the box itself, or the apex-up isosceles triangle.</summary>
    public static bool Inside(Shape s, double x, double y)
    {
        if (x < s.Left || x > s.Right || y < s.Top || y > s.Bottom)
            return false;
        var half = s.Width / 2.0;
        return s.Kind switch
        {
            "circle" => (x - s.Left - half) * (x - s.Left - half) + (y - s.Top - half) * (y - s.Top - half) <= half * half,
            "square" => true,
            "triangle" => Math.Abs(x - s.Left - half) <= (y - s.Top) / 2,
            _ => throw new ArgumentException($"unknown shape kind '{s.Kind}'"),
        };
    }
}
