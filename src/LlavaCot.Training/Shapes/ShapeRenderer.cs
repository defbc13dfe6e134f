using LlavaCot.Model.Inputs;
using SkiaSharp;

namespace LlavaCot.Training.Shapes;

/// <summary>Draws a scene as a 224×224 RGB PNG: flat fills with anti-aliased edges (triangles isosceles, apex up).</summary>
public static class ShapeRenderer
{
    public static byte[] Png(ShapeScene scene)
    {
        using var bitmap = Draw(scene);
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    /// <summary>The pixels the PNG holds (PNG is lossless), without encoding: what training feeds the processor.</summary>
    public static RgbImage Rgb(ShapeScene scene)
    {
        using var bitmap = Draw(scene);
        var rgba = bitmap.Bytes;
        var rgb = new byte[ShapeScene.Size * ShapeScene.Size * 3];
        for (int i = 0, o = 0; i < rgba.Length; i += 4, o += 3)
            (rgb[o], rgb[o + 1], rgb[o + 2]) = (rgba[i], rgba[i + 1], rgba[i + 2]);
        return new RgbImage(ShapeScene.Size, ShapeScene.Size, rgb);
    }

    private static SKBitmap Draw(ShapeScene scene)
    {
        var info = new SKImageInfo(ShapeScene.Size, ShapeScene.Size, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var bitmap = new SKBitmap(info);
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
        return bitmap;
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
