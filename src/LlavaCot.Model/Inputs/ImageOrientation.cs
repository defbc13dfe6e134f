using SkiaSharp;

namespace LlavaCot.Model.Inputs;

/// <summary>
/// Turns stored pixels upright according to the EXIF orientation (what Pillow's <c>ImageOps.exif_transpose</c>
/// does): phones store photos sideways and tag them, and the model should see what the person saw.
/// </summary>
public static class ImageOrientation
{
    public static RgbImage Apply(RgbImage image, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft)
            return image;
        var (w, h) = (image.Width, image.Height);
        var swaps = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop
            or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        var (outW, outH) = swaps ? (h, w) : (w, h);
        Func<int, int, (int X, int Y)> source = origin switch
        {
            SKEncodedOrigin.TopRight => (x, y) => (w - 1 - x, y),
            SKEncodedOrigin.BottomRight => (x, y) => (w - 1 - x, h - 1 - y),
            SKEncodedOrigin.BottomLeft => (x, y) => (x, h - 1 - y),
            SKEncodedOrigin.LeftTop => (x, y) => (y, x),
            SKEncodedOrigin.RightTop => (x, y) => (y, h - 1 - x),
            SKEncodedOrigin.RightBottom => (x, y) => (w - 1 - y, h - 1 - x),
            SKEncodedOrigin.LeftBottom => (x, y) => (w - 1 - y, x),
            _ => throw new ArgumentOutOfRangeException(nameof(origin), origin, "unknown EXIF orientation"),
        };
        var src = image.Pixels;
        var dst = new byte[src.Length];
        ParallelRows.For(outH, outW * 3L, (first, end) =>
        {
            for (var y = first; y < end; y++)
            {
                for (var x = 0; x < outW; x++)
                {
                    var (sx, sy) = source(x, y);
                    var s = (sy * w + sx) * 3;
                    var d = (y * outW + x) * 3;
                    dst[d] = src[s];
                    dst[d + 1] = src[s + 1];
                    dst[d + 2] = src[s + 2];
                }
            }
        });
        return new RgbImage(outW, outH, dst);
    }
}
