namespace LlavaCot.Model.Inputs;

/// <summary>
/// HF's convert_to_rgb for images with alpha: <c>Image.alpha_composite(white, rgba).convert("RGB")</c>.
/// Pillow does this in integer arithmetic with 7 extra bits and a shift-based division by 255; the same
/// steps are repeated here because a float formula lands one level off on some pixels.
/// </summary>
public static class PillowAlphaComposite
{
    private const int ExtraBits = 7;

    /// <summary>Composites unpremultiplied RGBA (4 bytes a pixel) over opaque white into RGB (3 bytes a pixel).</summary>
    public static void OverWhite(ReadOnlySpan<byte> rgba, Span<byte> rgb)
    {
        if (rgba.Length % 4 != 0 || rgb.Length != rgba.Length / 4 * 3)
            throw new ArgumentException($"RGBA of {rgba.Length} bytes does not match RGB of {rgb.Length} bytes");
        for (int i = 0, o = 0; i < rgba.Length; i += 4, o += 3)
        {
            var a = rgba[i + 3];
            rgb[o] = Channel(rgba[i], a, 255);
            rgb[o + 1] = Channel(rgba[i + 1], a, 255);
            rgb[o + 2] = Channel(rgba[i + 2], a, 255);
        }
    }

    /// <summary>One channel of source (value, alpha) over an opaque destination value.</summary>
    public static byte Channel(byte src, byte srcAlpha, byte dst)
    {
        if (srcAlpha == 0)
            return dst;
        const uint dstAlpha = 255;
        uint blend = dstAlpha * (255u - srcAlpha);
        uint outAlpha255 = srcAlpha * 255u + blend;
        uint coef1 = srcAlpha * 255u * 255u * (1u << ExtraBits) / outAlpha255;
        uint coef2 = 255u * (1u << ExtraBits) - coef1;
        uint tmp = src * coef1 + dst * coef2 + (0x80u << ExtraBits);
        return (byte)((((tmp >> 8) + tmp) >> 8) >> ExtraBits);
    }
}
