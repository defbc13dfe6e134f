using System.Runtime.InteropServices;
using SkiaSharp;

namespace LlavaCot.Cli;

/// <summary>
/// A seeded, photo-like test picture (sky and ground gradients, soft blobs, hard shapes, fine stripes and
/// sensor-like noise) so that JPEG size and decode cost resemble a real camera image.
/// </summary>
public static class SyntheticPhoto
{
    public static byte[] Jpeg(int width, int height, int seed, int quality)
    {
        var random = new Random(seed);
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var bitmap = new SKBitmap(info);
        using (var canvas = new SKCanvas(bitmap))
        {
            Paint(canvas, width, height, random);
        }
        AddNoise(bitmap, random);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, quality);
        return data.ToArray();
    }

    private static SKColor RandomColour(Random random) =>
        new((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));

    private static void Paint(SKCanvas canvas, int w, int h, Random random)
    {
        using var paint = new SKPaint { IsAntialias = true };
        using (var sky = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, h * 0.6f),
                   [new SKColor(70, 130, 200), new SKColor(200, 220, 240)], SKShaderTileMode.Clamp))
        {
            paint.Shader = sky;
            canvas.DrawRect(0, 0, w, h * 0.6f, paint);
        }
        using (var ground = SKShader.CreateLinearGradient(new SKPoint(0, h * 0.6f), new SKPoint(w, h),
                   [new SKColor(90, 120, 60), new SKColor(60, 45, 30)], SKShaderTileMode.Clamp))
        {
            paint.Shader = ground;
            canvas.DrawRect(0, h * 0.6f, w, h * 0.4f, paint);
        }
        for (var i = 0; i < 40; i++)
        {
            var centre = new SKPoint(random.Next(w), random.Next(h));
            var radius = (float)(w * (0.02 + random.NextDouble() * 0.15));
            var colour = RandomColour(random);
            using var blob = SKShader.CreateRadialGradient(centre, radius, [colour, colour.WithAlpha(0)], SKShaderTileMode.Clamp);
            paint.Shader = blob;
            canvas.DrawCircle(centre, radius, paint);
        }
        paint.Shader = null;
        for (var i = 0; i < 25; i++)
        {
            paint.Color = RandomColour(random);
            var x = random.Next(w);
            var y = random.Next(h);
            canvas.DrawRect(x, y, random.Next(20, w / 6), random.Next(20, h / 6), paint);
        }
        paint.StrokeWidth = 2;
        paint.Color = new SKColor(240, 240, 230);
        var stripes = new SKRect(w * 0.1f, h * 0.7f, w * 0.4f, h * 0.9f);
        for (var x = stripes.Left; x < stripes.Right; x += 5)
            canvas.DrawLine(x, stripes.Top, x, stripes.Bottom, paint);
    }

    private static void AddNoise(SKBitmap bitmap, Random random)
    {
        var pixels = new byte[bitmap.ByteCount];
        Marshal.Copy(bitmap.GetPixels(), pixels, 0, pixels.Length);
        var noise = new byte[pixels.Length / 4];
        random.NextBytes(noise);
        for (var i = 0; i < noise.Length; i++)
        {
            var n = (noise[i] & 15) - 8;
            for (var c = 0; c < 3; c++)
                pixels[i * 4 + c] = (byte)Math.Clamp(pixels[i * 4 + c] + n, 0, 255);
        }
        Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
    }
}
