namespace LlavaCot.Model.Inputs;

/// <summary>
/// Names a file format from its leading bytes, so that errors can say "truncated PNG" or "unsupported format
/// TIFF" instead of a bare codec status, and so that only the formats we promise are handed to the codec.
/// </summary>
public static class ImageSignature
{
    public const string Png = "PNG";
    public const string Jpeg = "JPEG";
    public const string Gif = "GIF";
    public const string WebP = "WebP";
    public const string Bmp = "BMP";

    /// <summary>The formats the decoder accepts.</summary>
    public static IReadOnlyList<string> Supported { get; } = [Png, Jpeg, WebP, Gif, Bmp];

    /// <summary>The format name, or null when the bytes start like no image format we know.</summary>
    public static string? Detect(ReadOnlySpan<byte> data)
    {
        if (Starts(data, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
            return Png;
        if (Starts(data, [0xFF, 0xD8, 0xFF]))
            return Jpeg;
        if (data.StartsWith("GIF87a"u8) || data.StartsWith("GIF89a"u8))
            return Gif;
        if (data.Length >= 12 && data.StartsWith("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8))
            return WebP;
        if (data.StartsWith("BM"u8))
            return Bmp;
        if (data.StartsWith("II*\0"u8) || data.StartsWith("MM\0*"u8))
            return "TIFF";
        if (Starts(data, [0x00, 0x00, 0x01, 0x00]) || Starts(data, [0x00, 0x00, 0x02, 0x00]))
            return "ICO";
        if (Starts(data, [0xFF, 0x0A]) || Starts(data, [0, 0, 0, 0x0C, 0x4A, 0x58, 0x4C, 0x20]))
            return "JPEG XL";
        if (data.Length >= 12 && data[4..8].SequenceEqual("ftyp"u8))
            return data[8..12].SequenceEqual("avif"u8) || data[8..12].SequenceEqual("avis"u8) ? "AVIF" : "HEIF";
        return null;
    }

    private static bool Starts(ReadOnlySpan<byte> data, ReadOnlySpan<byte> prefix) => data.StartsWith(prefix);
}
