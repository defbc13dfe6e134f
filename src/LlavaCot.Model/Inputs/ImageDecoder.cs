using System.Buffers.Binary;
using SkiaSharp;

namespace LlavaCot.Model.Inputs;

/// <summary>
/// Decodes PNG, JPEG, WebP, GIF (first frame) and BMP bytes into the RGB pixels Pillow would hand to HF's
/// image processor, then applies the EXIF orientation.
/// </summary>
/// <remarks>
/// Pixels are decoded unpremultiplied and without colour management (no colour space on the target), so the
/// values are the file's own, as Pillow reads them. Images without alpha stay as they are; images with alpha
/// (RGBA, grey + alpha, palette or grey with a transparent entry) are composited over white exactly as HF's
/// convert_to_rgb does. An RGB PNG with a tRNS colour key stays opaque, because Pillow keeps it in mode RGB,
/// which convert_to_rgb passes through untouched.
/// The header is probed before any pixel memory is allocated. Every codec status other than success is an
/// error, so a truncated or corrupt file never yields a partly filled image.
/// Two deliberate differences from HF fed with <c>PIL.Image.open</c>: the EXIF orientation is applied (HF
/// leaves a sideways phone photo sideways), and a 16-bit grey PNG is scaled to 8 bits (Pillow opens it as
/// 32-bit integers and clips every value above 255 to white). 16-bit colour PNGs keep the high byte, as Pillow does.
/// </remarks>
public static class ImageDecoder
{
    private const string HeaderStage = "header";
    private const int PngSizeOffset = 16;
    private const int PngColorTypeOffset = 25;
    private const byte PngTruecolor = 2;

    public static RgbImage DecodeFile(string path, ImageLimits? limits = null) =>
        Decode(File.ReadAllBytes(path), limits);

    public static RgbImage Decode(ReadOnlySpan<byte> data, ImageLimits? limits = null)
    {
        limits ??= ImageLimits.Default;
        if (data.IsEmpty)
            throw new ImageDecodeException("empty input: no image bytes");
        var format = ImageSignature.Detect(data)
            ?? throw new ImageDecodeException("not an image (unknown format)");
        if (!ImageSignature.Supported.Contains(format))
            throw new ImageDecodeException(
                $"unsupported image format {format} (supported: {string.Join(", ", ImageSignature.Supported)})");

        // libpng reports a zero or negative size as a generic read failure, so PNG sizes are checked here first.
        if (format == ImageSignature.Png && data.Length > PngColorTypeOffset && data[12..16].SequenceEqual("IHDR"u8))
            CheckSize(format, BinaryPrimitives.ReadInt32BigEndian(data[PngSizeOffset..]),
                BinaryPrimitives.ReadInt32BigEndian(data[(PngSizeOffset + 4)..]), limits);

        using var encoded = SKData.CreateCopy(data);
        using var stream = new SKMemoryStream(encoded);
        using var codec = SKCodec.Create(stream, out var opened)
            ?? throw Failure(format, opened, HeaderStage);
        var info = codec.Info;
        CheckSize(format, info.Width, info.Height, limits);

        var rgba = new byte[info.Width * info.Height * 4];
        var target = new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        SKCodecResult decoded;
        unsafe
        {
            fixed (byte* p = rgba)
                decoded = codec.GetPixels(target, (IntPtr)p);
        }
        if (decoded != SKCodecResult.Success)
            throw Failure(format, decoded, "image data");

        var hasAlpha = info.AlphaType != SKAlphaType.Opaque && !IsTruecolorPng(format, data);
        var image = new RgbImage(info.Width, info.Height, ToRgb(rgba, info.Width, info.Height, hasAlpha));
        return ImageOrientation.Apply(image, codec.EncodedOrigin);
    }

    private static void CheckSize(string format, int width, int height, ImageLimits limits)
    {
        if (width <= 0 || height <= 0)
            throw new ImageDecodeException($"{format} declares an empty size {width}×{height}");
        var pixels = (long)width * height;
        if (pixels > limits.MaxPixels)
            throw new ImageDecodeException(
                $"{width}×{height} = {Megapixels(pixels)} exceeds the {Megapixels(limits.MaxPixels)} limit");
    }

    private static string Megapixels(long pixels) =>
        pixels >= 1_000_000 ? $"{pixels / 1e6:0.#} MP" : $"{pixels} pixels";

    private static bool IsTruecolorPng(string format, ReadOnlySpan<byte> data) =>
        format == ImageSignature.Png && data.Length > PngColorTypeOffset && data[PngColorTypeOffset] == PngTruecolor;

    private static byte[] ToRgb(byte[] rgba, int width, int height, bool hasAlpha)
    {
        var rgb = new byte[width * height * 3];
        ParallelRows.For(height, width * 4L, (first, end) =>
        {
            var from = rgba.AsSpan(first * width * 4, (end - first) * width * 4);
            var to = rgb.AsSpan(first * width * 3, (end - first) * width * 3);
            if (hasAlpha)
            {
                PillowAlphaComposite.OverWhite(from, to);
                return;
            }
            for (int i = 0, o = 0; i < from.Length; i += 4, o += 3)
            {
                to[o] = from[i];
                to[o + 1] = from[i + 1];
                to[o + 2] = from[i + 2];
            }
        });
        return rgb;
    }

    private static ImageDecodeException Failure(string format, SKCodecResult result, string stage) => result switch
    {
        // Codecs also say "incomplete" when a header is malformed, so only the data stage can claim truncation.
        SKCodecResult.IncompleteInput when stage == HeaderStage => new($"truncated or corrupt {format}: cannot read its header"),
        SKCodecResult.IncompleteInput => new($"truncated {format}: the file ends inside its {stage}"),
        SKCodecResult.ErrorInInput or SKCodecResult.InvalidInput => new($"corrupt {format}: invalid {stage}"),
        SKCodecResult.Unimplemented => new($"unsupported {format} variant: the decoder cannot read its {stage}"),
        _ => new($"{format} {stage} could not be decoded ({result})"),
    };
}
