namespace LlavaCot.Model.Inputs;

/// <summary>
/// Pillow's <c>Image.resize(size, BILINEAR)</c> on 8-bit RGB, reproduced bit for bit: separable fixed-point
/// passes (horizontal first, over only the rows the vertical pass reads, then vertical), each skipped when
/// its dimension does not change. HF's Mllama processor resizes this way, so the tiles match it exactly.
/// </summary>
public static class PillowBilinear
{
    private const int Half = 1 << (ResampleAxis.PrecisionBits - 1);

    public static RgbImage Resize(RgbImage image, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        var resizeRows = height != image.Height;
        var resizeColumns = width != image.Width;
        if (!resizeRows && !resizeColumns)
            return new RgbImage(width, height, (byte[])image.Pixels.Clone());

        var vertical = resizeRows ? ResampleAxis.Bilinear(image.Height, height) : null;
        var pixels = image.Pixels;
        var firstRow = 0;
        if (resizeColumns)
        {
            var (first, end) = vertical is null
                ? (0, image.Height)
                : (vertical.Start[0], vertical.Start[^1] + vertical.Count[^1]);
            pixels = Horizontal(image, ResampleAxis.Bilinear(image.Width, width), first, end);
            firstRow = first;
        }
        return vertical is null
            ? new RgbImage(width, height, pixels)
            : new RgbImage(width, height, Vertical(pixels, width * 3, firstRow, vertical, height));
    }

    private static byte Clip(int sum)
    {
        var v = sum >> ResampleAxis.PrecisionBits;
        return v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
    }

    /// <summary>Resamples rows [first, end) of the image along x.</summary>
    private static byte[] Horizontal(RgbImage image, ResampleAxis axis, int first, int end)
    {
        var outWidth = axis.Start.Length;
        var inStride = image.Stride;
        var outStride = outWidth * 3;
        var result = new byte[(end - first) * outStride];
        ParallelRows.For(end - first, (long)outWidth * axis.KernelSize * 3, (bandStart, bandEnd) =>
        {
            unsafe
            {
                fixed (byte* src = image.Pixels, dst = result)
                fixed (int* weights = axis.Weights, starts = axis.Start, counts = axis.Count)
                {
                    for (var y = bandStart; y < bandEnd; y++)
                    {
                        var line = src + (long)(y + first) * inStride;
                        var output = dst + (long)y * outStride;
                        for (var x = 0; x < outWidth; x++)
                        {
                            var k = weights + x * axis.KernelSize;
                            var p = line + starts[x] * 3;
                            int r = Half, g = Half, b = Half;
                            for (var i = 0; i < counts[x]; i++, p += 3)
                            {
                                var w = k[i];
                                r += p[0] * w;
                                g += p[1] * w;
                                b += p[2] * w;
                            }
                            output[x * 3] = Clip(r);
                            output[x * 3 + 1] = Clip(g);
                            output[x * 3 + 2] = Clip(b);
                        }
                    }
                }
            }
        });
        return result;
    }

    /// <summary>Resamples along y; <paramref name="firstRow"/> is the source row that row 0 of <paramref name="pixels"/> holds.</summary>
    private static byte[] Vertical(byte[] pixels, int stride, int firstRow, ResampleAxis axis, int outHeight)
    {
        var result = new byte[outHeight * stride];
        ParallelRows.For(outHeight, (long)stride * axis.KernelSize, (bandStart, bandEnd) =>
        {
            // Integer sums do not depend on the order of terms, so whole rows are accumulated at once,
            // which reads the source sequentially instead of column by column.
            var sums = new int[stride];
            unsafe
            {
                fixed (byte* src = pixels, dst = result)
                fixed (int* acc = sums, weights = axis.Weights)
                {
                    for (var y = bandStart; y < bandEnd; y++)
                    {
                        new Span<int>(acc, stride).Fill(Half);
                        var k = weights + y * axis.KernelSize;
                        var top = axis.Start[y] - firstRow;
                        for (var i = 0; i < axis.Count[y]; i++)
                        {
                            var w = k[i];
                            var line = src + (long)(top + i) * stride;
                            for (var x = 0; x < stride; x++)
                                acc[x] += line[x] * w;
                        }
                        var output = dst + (long)y * stride;
                        for (var x = 0; x < stride; x++)
                            output[x] = Clip(acc[x]);
                    }
                }
            }
        });
        return result;
    }
}
