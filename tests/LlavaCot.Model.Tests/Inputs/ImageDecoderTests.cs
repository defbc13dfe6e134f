using LlavaCot.Model.Inputs;
using SkiaSharp;

namespace LlavaCot.Model.Tests.Inputs;

public class ImageDecoderTests
{
    private static ImageDecodeException Rejects(byte[] data, ImageLimits? limits = null) =>
        Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(data, limits));

    private static (byte R, byte G, byte B) Pixel(RgbImage image, int x, int y)
    {
        var i = (y * image.Width + x) * 3;
        return (image.Pixels[i], image.Pixels[i + 1], image.Pixels[i + 2]);
    }

    [Fact]
    public void Empty_input_is_rejected() =>
        Assert.Contains("empty", Rejects([]).Message);

    [Fact]
    public void Random_bytes_are_not_an_image()
    {
        var noise = new byte[4096];
        new Random(7).NextBytes(noise);
        noise[0] = 0x42; // not the start of any signature ("B" followed by a non-"M")
        noise[1] = 0x00;
        Assert.Equal("not an image (unknown format)", Rejects(noise).Message);
    }

    [Fact]
    public void A_png_truncated_at_half_is_an_error_not_a_partial_image()
    {
        var png = TestImages.EncodeRgb(128, 128, TestImages.Noise(128, 128, 1), SKEncodedImageFormat.Png);
        Assert.Equal(128, ImageDecoder.Decode(png).Width);
        Assert.Equal("truncated PNG: the file ends inside its image data", Rejects(png[..(png.Length / 2)]).Message);
        Assert.StartsWith("truncated or corrupt PNG", Rejects(png[..20]).Message);
    }

    [Fact]
    public void A_jpeg_truncated_at_half_is_an_error()
    {
        var jpeg = TestImages.EncodeRgb(128, 128, TestImages.Noise(128, 128, 2), SKEncodedImageFormat.Jpeg, 90);
        Assert.Equal(128, ImageDecoder.Decode(jpeg).Height);
        Assert.Contains("truncated JPEG", Rejects(jpeg[..(jpeg.Length / 2)]).Message);
    }

    [Fact]
    public void A_png_header_claiming_100000_squared_is_rejected_before_allocating()
    {
        var ex = Rejects(TestImages.PngWithHeader(100000, 100000));
        Assert.Contains("100000×100000 = 10000 MP exceeds the 40 MP limit", ex.Message);
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(10, 0)]
    [InlineData(-5, 10)]
    public void A_png_header_with_a_zero_or_negative_size_is_rejected(int width, int height) =>
        Assert.Equal($"PNG declares an empty size {width}×{height}", Rejects(TestImages.PngWithHeader(width, height)).Message);

    [Fact]
    public void The_pixel_budget_is_configurable()
    {
        var png = TestImages.EncodeRgb(20, 20, TestImages.Noise(20, 20, 3), SKEncodedImageFormat.Png);
        Assert.Contains("20×20 = 400 pixels exceeds the 399 pixels limit", Rejects(png, new ImageLimits { MaxPixels = 399 }).Message);
        Assert.Equal(20, ImageDecoder.Decode(png, new ImageLimits { MaxPixels = 400 }).Width);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageLimits { MaxPixels = 0 });
    }

    [Theory]
    [InlineData("TIFF", new byte[] { 0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0 })]
    [InlineData("ICO", new byte[] { 0, 0, 1, 0, 1, 0, 16, 16 })]
    public void Known_but_unsupported_formats_are_named(string format, byte[] header) =>
        Assert.StartsWith($"unsupported image format {format}", Rejects(header).Message);

    [Fact]
    public void A_corrupt_png_header_is_reported()
    {
        var png = TestImages.PngWithHeader(10, 10);
        png[29] ^= 0xFF; // breaks the IHDR CRC
        Assert.Equal("truncated or corrupt PNG: cannot read its header", Rejects(png).Message);
    }

    [Fact]
    public void A_1x1_png_decodes_to_its_pixel()
    {
        var png = TestImages.EncodeRgb(1, 1, [200, 100, 50], SKEncodedImageFormat.Png);
        var image = ImageDecoder.Decode(png);
        Assert.Equal((1, 1), (image.Width, image.Height));
        Assert.Equal(((byte)200, (byte)100, (byte)50), Pixel(image, 0, 0));
    }

    [Fact]
    public void Rgb_png_webp_and_bmp_decode_losslessly()
    {
        var rgb = TestImages.Noise(33, 17, 4);
        foreach (var encoded in new[]
                 {
                     TestImages.EncodeRgb(33, 17, rgb, SKEncodedImageFormat.Png),
                     TestImages.EncodeRgb(33, 17, rgb, SKEncodedImageFormat.Webp, 100),
                     TestImages.Bmp(33, 17, rgb),
                 })
        {
            var image = ImageDecoder.Decode(encoded);
            Assert.Equal((33, 17), (image.Width, image.Height));
            Assert.Equal(rgb, image.Pixels);
        }
    }

    [Fact]
    public void A_4_channel_png_is_composited_over_white()
    {
        byte[] rgba = [10, 20, 30, 0, 10, 20, 30, 255, 200, 100, 0, 128, 0, 60, 250, 64];
        var image = ImageDecoder.Decode(TestImages.EncodeRgba(4, 1, rgba, SKEncodedImageFormat.Png));
        Assert.Equal(((byte)255, (byte)255, (byte)255), Pixel(image, 0, 0));
        Assert.Equal(((byte)10, (byte)20, (byte)30), Pixel(image, 1, 0));
        for (var x = 2; x < 4; x++)
        {
            var a = rgba[x * 4 + 3] / 255.0;
            var got = Pixel(image, x, 0);
            byte[] actual = [got.R, got.G, got.B];
            for (var c = 0; c < 3; c++)
            {
                var ideal = rgba[x * 4 + c] * a + 255 * (1 - a);
                Assert.InRange(actual[c], ideal - 1, ideal + 1);
            }
        }
    }

    [Fact]
    public void A_grey_png_becomes_equal_rgb_channels()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(3, 1, SKColorType.Gray8, SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(new byte[] { 0, 77, 255 }, 0, bitmap.GetPixels(), 3);
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        Assert.Equal([0, 0, 0, 77, 77, 77, 255, 255, 255], ImageDecoder.Decode(png.ToArray()).Pixels);
    }

    [Fact]
    public void A_gif_pixel_uses_its_palette_and_a_transparent_one_turns_white()
    {
        Assert.Equal([250, 10, 20], ImageDecoder.Decode(TestImages.Gif1x1((250, 10, 20), transparent: false)).Pixels);
        Assert.Equal([255, 255, 255], ImageDecoder.Decode(TestImages.Gif1x1((250, 10, 20), transparent: true)).Pixels);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    [InlineData(8)]
    public void Jpeg_exif_orientation_turns_the_image_upright(ushort orientation)
    {
        (byte, byte, byte) red = (255, 0, 0), green = (0, 255, 0), blue = (0, 0, 255), white = (255, 255, 255);
        var stored = TestImages.Quadrants(64, 32, red, green, blue, white);
        var jpeg = TestImages.WithExifOrientation(TestImages.EncodeRgb(64, 32, stored, SKEncodedImageFormat.Jpeg, 95), orientation);

        var image = ImageDecoder.Decode(jpeg);

        // 6 = stored rotated 90° counter-clockwise, shown by turning it clockwise; 8 the other way round.
        var (size, expected) = orientation switch
        {
            6 => ((32, 64), new[] { blue, red, white, green }),
            8 => ((32, 64), new[] { green, white, red, blue }),
            _ => ((64, 32), new[] { red, green, blue, white }),
        };
        Assert.Equal(size, (image.Width, image.Height));
        var (qw, qh) = (image.Width / 2, image.Height / 2);
        for (var q = 0; q < 4; q++)
        {
            var got = Pixel(image, q % 2 * qw + qw / 2, q / 2 * qh + qh / 2);
            var want = expected[q];
            Assert.True(Math.Abs(got.R - want.Item1) < 40 && Math.Abs(got.G - want.Item2) < 40 && Math.Abs(got.B - want.Item3) < 40,
                $"orientation {orientation}, quadrant {q}: got {got}, expected {want}");
        }
    }
}
