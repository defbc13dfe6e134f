using LlavaCot.Training.Shapes;
using LlavaCot.Training.Train;

namespace LlavaCot.Training.Tests;

public class PatchTargetsTests
{
    [Theory]
    [InlineData(16)]
    [InlineData(14)]
    public void Each_patch_target_matches_what_the_rendered_pixels_show(int patch)
    {
        var side = ShapeScene.Size / patch;
        for (var i = 0; i < 40; i++)
        {
            var (scene, _, _) = ShapeDataset.Draw(23, i);
            var image = ShapeRenderer.Rgb(scene);
            var (attributes, places) = PatchTargets.Of(scene, patch);
            Assert.Equal(side * side * PatchTargets.AttributeClasses, attributes.Length);
            Assert.Equal(side * side * PatchTargets.PlaceClasses, places.Length);
            for (var p = 0; p < side * side; p++)
            {
                var a = attributes.AsSpan(p * PatchTargets.AttributeClasses, PatchTargets.AttributeClasses);
                var place = places.AsSpan(p * PatchTargets.PlaceClasses, PatchTargets.PlaceClasses);
                Assert.Equal(1.0, Sum(a), 1e-4);
                Assert.Equal(1.0, Sum(place), 1e-4);
                Assert.Equal(a[0], place[0], 1e-5);

                // How much of the patch the pixels cover: each pixel's blend between the background and its fill.
                var (covered, fill) = Coverage(image, scene.Background, p % side * patch, p / side * patch, patch);
                Assert.True(Math.Abs(covered - (1 - a[0])) < 0.06, $"scene {i}, patch {p}: pixels cover {covered:F3}, targets {1 - a[0]:F3}");
                if (1 - a[0] < 0.3)
                    continue;
                // The patch's main shape, by place and by attributes, is the one whose colour its pixels show.
                var main = scene.Shapes[ArgMax(place[1..])];
                Assert.Equal(PatchTargets.Attribute(main), 1 + ArgMax(a[1..]));
                Assert.Equal(main.Colour, fill);
            }
        }
    }

    private static double Sum(ReadOnlySpan<float> values)
    {
        var sum = 0.0;
        foreach (var v in values)
            sum += v;
        return sum;
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
            best = values[i] > values[best] ? i : best;
        return best;
    }

    private static (double Covered, string? Fill) Coverage(Model.Inputs.RgbImage image, int background, int left, int top, int patch)
    {
        var covered = 0.0;
        var fills = new Dictionary<string, int>();
        for (var y = top; y < top + patch; y++)
        for (var x = left; x < left + patch; x++)
        {
            var o = 3 * (y * image.Width + x);
            var (r, g, b) = (image.Pixels[o], image.Pixels[o + 1], image.Pixels[o + 2]);
            // The fill nearest the pixel's colour, and how far the pixel lies from the background towards it.
            var (name, alpha) = ShapeScene.Fills.Select(f => (f.Key, Alpha((r, g, b), f.Value, background)))
                .OrderByDescending(f => f.Item2).First();
            covered += alpha;
            if (alpha > 0.99)
                fills[name] = fills.GetValueOrDefault(name) + 1;
        }
        return (covered / (patch * patch), fills.Count == 0 ? null : fills.MaxBy(f => f.Value).Key);
    }

    private static double Alpha((byte R, byte G, byte B) pixel, (byte R, byte G, byte B) fill, int background)
    {
        double[] d = [fill.R - background, fill.G - background, fill.B - background];
        double[] v = [pixel.R - background, pixel.G - background, pixel.B - background];
        var t = (d[0] * v[0] + d[1] * v[1] + d[2] * v[2]) / (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
        var off = Math.Sqrt(Enumerable.Range(0, 3).Sum(k => (v[k] - t * d[k]) * (v[k] - t * d[k])));
        // A pixel off the line from the background to this fill is not a blend of the two.
        return off > 6 ? 0 : Math.Clamp(t, 0, 1);
    }
}
