using SkiaSharp;

namespace LlavaCot.Training.Shapes;

/// <summary>Draws a scene as a 224×224 RGB PNG: flat fills with anti-aliased edges (triangles isosceles, apex up).</summary>
public static class ShapeRenderer
{
    public static byte[] Png(ShapeScene scene)
    {
        var info = new SKImageInfo(ShapeScene.Size, ShapeScene.Size, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        using (var canvas = new SKCanvas(bitmap))
        {
            var grey = (byte)scene.Background;
            canvas.Clear(new SKColor(grey, grey, grey));
            using var paint = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Fill };
            foreach (var shape in scene.Shapes)
            {
                var (r, g, b) = ShapeScene.Fills[shape.Colour];
                paint.Color = new SKColor(r, g, b);
                Draw(canvas, shape, paint);
            }
        }
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    private static void Draw(SKCanvas canvas, Shape s, SKPaint paint)
    {
        var half = s.Width / 2f;
        switch (s.Kind)
        {
            case "circle":
                canvas.DrawCircle(s.Left + half, s.Top + half, half, paint);
                break;
            case "square":
                canvas.DrawRect(s.Left, s.Top, s.Width, s.Width, paint);
                break;
            case "triangle":
                using (var path = new SKPath())
                {
                    path.MoveTo(s.Left, s.Bottom);
                    path.LineTo(s.Right, s.Bottom);
                    path.LineTo(s.Left + half, s.Top);
                    path.Close();
                    canvas.DrawPath(path, paint);
                }
                break;
            default:
                throw new ArgumentException($"unknown shape kind '{s.Kind}'");
        }
    }
}
