using LlavaCot.Model.Inputs;

namespace LlavaCot.Model.Tests.Inputs;

public class PillowAlphaCompositeTests
{
    [Fact]
    public void Opaque_pixels_keep_their_value_and_transparent_ones_become_white()
    {
        for (var v = 0; v < 256; v++)
        {
            Assert.Equal(v, PillowAlphaComposite.Channel((byte)v, 255, 255));
            Assert.Equal(255, PillowAlphaComposite.Channel((byte)v, 0, 255));
        }
    }

    [Fact]
    public void Partial_alpha_is_within_one_level_of_the_exact_blend()
    {
        for (var a = 1; a < 255; a++)
        {
            for (var v = 0; v < 256; v += 5)
            {
                var ideal = v * a / 255.0 + 255 * (1 - a / 255.0);
                Assert.InRange(PillowAlphaComposite.Channel((byte)v, (byte)a, 255), ideal - 1, ideal + 1);
            }
        }
    }
}
