using LlavaCot.Model.Inputs;
using SkiaSharp;

namespace LlavaCot.Model.Tests.Inputs;

/// <summary>
/// Uploads are mostly JPEG: each case in Inputs/Jpeg must decode to exactly the pixels Pillow gives HF's
/// processor. Skia bundles the libjpeg-turbo release (2.1.5) of the Pillow that made the goldens, and every case
/// matched exactly: the IDCT and the chroma upsampling agree, and both read CMYK/YCCK as inverted (Adobe) CMYK
/// and convert it with the same rounded multiply, so no case needs a tolerance.
/// </summary>
public class JpegGoldenTests
{
    [Theory]
    [MemberData(nameof(JpegCase.Names), MemberType = typeof(JpegCase))]
    public void A_jpeg_decodes_to_the_pillow_golden(string name)
    {
        var expected = JpegCase.Load(name);
        var image = ImageDecoder.Decode(expected.Jpeg);

        Assert.Equal((expected.Width, expected.Height), (image.Width, image.Height));
        var golden = expected.Golden;
        Assert.Equal(golden.Length, image.Pixels.Length);
        var differing = Enumerable.Range(0, golden.Length).Where(i => golden[i] != image.Pixels[i]).ToList();
        Assert.True(differing.Count == 0,
            $"{name} ({string.Join(", ", expected.Properties)}): {differing.Count} of {golden.Length} values differ, " +
            $"max abs diff {differing.Select(i => Math.Abs(golden[i] - image.Pixels[i])).DefaultIfEmpty().Max()}");
    }

    [Theory]
    [InlineData("progressive")]
    [InlineData("4:2:0")]
    [InlineData("4:2:2")]
    [InlineData("4:4:4")]
    [InlineData("grey")]
    [InlineData("cmyk")]
    [InlineData("ycck")]
    [InlineData("restart")]
    [InlineData("odd_size")]
    [InlineData("icc_profile")]
    [InlineData("exif_orientation=2")]
    [InlineData("exif_orientation=3")]
    [InlineData("exif_orientation=6")]
    [InlineData("exif_orientation=8")]
    public void The_cases_cover_the_jpeg_variants_uploads_have(string property) =>
        Assert.Contains(JpegCase.All(), c => c.Properties.Contains(property));

    /// <summary>The profile case only proves something if Skia reads the profile: its pixels must still be the stored ones.</summary>
    [Fact]
    public void An_embedded_wide_gamut_profile_is_read_by_the_codec_but_not_applied()
    {
        var withProfile = JpegCase.All().Where(c => c.Properties.Contains("icc_profile")).ToList();
        Assert.NotEmpty(withProfile);
        foreach (var c in withProfile)
        {
            using var codec = SKCodec.Create(new SKMemoryStream(c.Jpeg));
            Assert.NotNull(codec.Info.ColorSpace);
            Assert.False(codec.Info.ColorSpace.IsSrgb, $"{c.Name}: the codec saw sRGB, so the case tests nothing");
        }
    }
}
