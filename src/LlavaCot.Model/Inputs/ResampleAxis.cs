namespace LlavaCot.Model.Inputs;

/// <summary>
/// The fixed-point filter weights of one axis of Pillow's resampler: for each output position, the first input
/// index, the number of taps and that many integer weights scaled by 2^22.
/// </summary>
/// <remarks>
/// Mirrors the order of Pillow's double-precision steps (box width taken through float32, centre, rounded
/// bounds, triangle weights, division by their sum, rounding half away from zero), since any reordering moves
/// some weights by one unit and the output by one level.
/// </remarks>
internal sealed class ResampleAxis
{
    public const int PrecisionBits = 32 - 8 - 2;

    public int[] Start { get; }
    public int[] Count { get; }
    public int[] Weights { get; }

    /// <summary>Stride between the weight rows of two output positions.</summary>
    public int KernelSize { get; }

    private ResampleAxis(int[] start, int[] count, int[] weights, int kernelSize)
    {
        Start = start;
        Count = count;
        Weights = weights;
        KernelSize = kernelSize;
    }

    /// <summary>Bilinear (triangle) weights, widened by the scale factor when shrinking, which is what antialiases.</summary>
    public static ResampleAxis Bilinear(int inSize, int outSize)
    {
        const double filterSupport = 1.0;
        // Pillow passes the box edges as float32; the width is a float32 difference widened to double.
        var scale = (double)((float)inSize - 0f) / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = filterSupport * filterScale;
        var kernelSize = (int)Math.Ceiling(support) * 2 + 1;
        var inverseScale = 1.0 / filterScale;

        var start = new int[outSize];
        var count = new int[outSize];
        var weights = new int[outSize * kernelSize];
        var k = new double[kernelSize];
        for (var o = 0; o < outSize; o++)
        {
            var center = (o + 0.5) * scale;
            var min = Math.Max((int)(center - support + 0.5), 0);
            var max = Math.Min((int)(center + support + 0.5), inSize) - min;
            var sum = 0.0;
            for (var i = 0; i < max; i++)
            {
                var w = Triangle((i + min - center + 0.5) * inverseScale);
                k[i] = w;
                sum += w;
            }
            for (var i = 0; i < max; i++)
            {
                if (sum != 0.0)
                    k[i] /= sum;
                weights[o * kernelSize + i] = k[i] < 0
                    ? (int)(-0.5 + k[i] * (1 << PrecisionBits))
                    : (int)(0.5 + k[i] * (1 << PrecisionBits));
            }
            start[o] = min;
            count[o] = max;
        }
        return new ResampleAxis(start, count, weights, kernelSize);
    }

    private static double Triangle(double x)
    {
        x = Math.Abs(x);
        return x < 1.0 ? 1.0 - x : 0.0;
    }
}
