using LlavaCot.Model.Inputs;

namespace LlavaCot.Model.Tests.Inputs;

public class PillowBilinearTests
{
    [Fact]
    public void Same_size_is_a_copy()
    {
        var image = new RgbImage(7, 5, TestImages.Noise(7, 5, 9));
        var same = PillowBilinear.Resize(image, 7, 5);
        Assert.Equal(image.Pixels, same.Pixels);
        Assert.NotSame(image.Pixels, same.Pixels);
    }

    [Theory]
    [InlineData(640, 480, 37, 29)]
    [InlineData(37, 29, 640, 480)]
    [InlineData(100, 10, 100, 73)]
    [InlineData(10, 100, 73, 100)]
    public void A_constant_image_stays_constant_in_both_directions(int w, int h, int nw, int nh)
    {
        var image = new RgbImage(w, h, Enumerable.Range(0, w * h).SelectMany(_ => new byte[] { 13, 128, 254 }).ToArray());
        var resized = PillowBilinear.Resize(image, nw, nh);
        Assert.Equal((nw, nh), (resized.Width, resized.Height));
        Assert.All(resized.Pixels.Chunk(3), p => Assert.Equal([13, 128, 254], p));
    }

    [Fact]
    public void A_horizontal_ramp_stays_monotonic_and_spans_its_range()
    {
        var w = 300;
        var pixels = new byte[w * 2 * 3];
        for (var x = 0; x < w; x++)
        {
            for (var y = 0; y < 2; y++)
                pixels.AsSpan((y * w + x) * 3, 3).Fill((byte)(x * 255 / (w - 1)));
        }
        var resized = PillowBilinear.Resize(new RgbImage(w, 2, pixels), 41, 2);
        var row = Enumerable.Range(0, 41).Select(x => resized.Pixels[x * 3]).ToArray();
        Assert.Equal(row.Order(), row);
        Assert.InRange(row[0], 0, 6);
        Assert.InRange(row[^1], 249, 255);
    }
}
