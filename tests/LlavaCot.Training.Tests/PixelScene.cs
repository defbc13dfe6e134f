using LlavaCot.Model.Inputs;
using LlavaCot.Training.Shapes;

namespace LlavaCot.Training.Tests;

/// <summary>
/// Reads a scene back from its pixels alone: pixels of exactly one fill colour, grouped into 4-connected components
/// (shapes never touch), each classified by how much of its bounding box it fills (square ~1, circle ~π/4,
/// triangle ~1/2) and sized by its width.
/// </summary>
internal static class PixelScene
{
    public static ShapeScene Read(byte[] png)
    {
        var image = ImageDecoder.Decode(png);
        var labels = new string?[image.Width * image.Height];
        for (var i = 0; i < labels.Length; i++)
        {
            var (r, g, b) = (image.Pixels[3 * i], image.Pixels[3 * i + 1], image.Pixels[3 * i + 2]);
            labels[i] = ShapeScene.Fills.FirstOrDefault(f => f.Value == (r, g, b)).Key;
        }
        var background = image.Pixels[0];
        var seen = new bool[labels.Length];
        var shapes = new List<Shape>();
        for (var start = 0; start < labels.Length; start++)
        {
            if (labels[start] is not { } colour || seen[start])
                continue;
            var (count, left, top, right, bottom) = Fill(labels, seen, image.Width, image.Height, start, colour);
            var width = right - left + 1;
            var fill = count / (double)(width * (bottom - top + 1));
            var kind = fill > 0.88 ? "square" : fill > 0.62 ? "circle" : "triangle";
            shapes.Add(new Shape(kind, colour, width >= 50, left, top, width));
        }
        return new ShapeScene(background, shapes.OrderBy(s => s.Left).ToList());
    }

    private static (int Count, int Left, int Top, int Right, int Bottom) Fill(string?[] labels, bool[] seen, int w, int h, int start, string colour)
    {
        var stack = new Stack<int>([start]);
        seen[start] = true;
        var (count, left, top, right, bottom) = (0, w, h, 0, 0);
        while (stack.Count > 0)
        {
            var p = stack.Pop();
            var (x, y) = (p % w, p / w);
            count++;
            (left, right, top, bottom) = (Math.Min(left, x), Math.Max(right, x), Math.Min(top, y), Math.Max(bottom, y));
            foreach (var (nx, ny) in new[] { (x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1) })
            {
                var q = ny * w + nx;
                if (nx >= 0 && ny >= 0 && nx < w && ny < h && !seen[q] && labels[q] == colour)
                {
                    seen[q] = true;
                    stack.Push(q);
                }
            }
        }
        return (count, left, top, right, bottom);
    }
}
