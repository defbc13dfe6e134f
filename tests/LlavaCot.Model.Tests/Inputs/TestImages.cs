using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using SkiaSharp;

namespace LlavaCot.Model.Tests.Inputs;

/// <summary>Small images encoded on the fly (SkiaSharp's encoders or hand-written bytes) for decoder tests.</summary>
internal static class TestImages
{
    /// <summary>Encodes unpremultiplied RGBA pixels (4 bytes a pixel).</summary>
    public static byte[] EncodeRgba(int width, int height, byte[] rgba, SKEncodedImageFormat format, int quality = 100)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var data = bitmap.Encode(format, quality);
        return data.ToArray();
    }

    public static byte[] EncodeRgb(int width, int height, byte[] rgb, SKEncodedImageFormat format, int quality = 100)
    {
        var rgba = new byte[width * height * 4];
        for (int i = 0, o = 0; i < rgb.Length; i += 3, o += 4)
        {
            rgba[o] = rgb[i];
            rgba[o + 1] = rgb[i + 1];
            rgba[o + 2] = rgb[i + 2];
            rgba[o + 3] = 255;
        }
        return EncodeRgba(width, height, rgba, format, quality);
    }

    public static byte[] Noise(int width, int height, int seed)
    {
        var rgb = new byte[width * height * 3];
        new Random(seed).NextBytes(rgb);
        return rgb;
    }

    /// <summary>RGB pixels with each of the four quadrants filled with one colour (TL, TR, BL, BR).</summary>
    public static byte[] Quadrants(int width, int height, params (byte R, byte G, byte B)[] colours)
    {
        var rgb = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var c = colours[(y < height / 2 ? 0 : 2) + (x < width / 2 ? 0 : 1)];
                var i = (y * width + x) * 3;
                (rgb[i], rgb[i + 1], rgb[i + 2]) = c;
            }
        }
        return rgb;
    }

    /// <summary>Inserts an APP1 Exif segment holding only the Orientation tag right after the JPEG's SOI marker.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        var tiff = new List<byte>();
        tiff.AddRange("MM\0*"u8.ToArray());
        tiff.AddRange(BigEndian32(8));          // first IFD right after this header
        tiff.AddRange(BigEndian16(1));          // one entry
        tiff.AddRange(BigEndian16(0x0112));     // Orientation
        tiff.AddRange(BigEndian16(3));          // SHORT
        tiff.AddRange(BigEndian32(1));          // one value
        tiff.AddRange(BigEndian16(orientation));
        tiff.AddRange(BigEndian16(0));          // value field padding
        tiff.AddRange(BigEndian32(0));          // no next IFD
        var payload = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        var segment = new byte[] { 0xFF, 0xE1 }.Concat(BigEndian16((ushort)(payload.Length + 2))).Concat(payload);
        return jpeg[..2].Concat(segment).Concat(jpeg[2..]).ToArray();
    }

    /// <summary>A PNG whose IHDR declares the given size, with a valid CRC and a tiny IDAT: a "lying header".</summary>
    public static byte[] PngWithHeader(int width, int height)
    {
        var png = new List<byte> { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A };
        var ihdr = BigEndian32((uint)width).Concat(BigEndian32((uint)height))
            .Concat(new byte[] { 8, 2, 0, 0, 0 }).ToArray(); // 8-bit truecolour, deflate, no filter, no interlace
        png.AddRange(Chunk("IHDR", ihdr));
        png.AddRange(Chunk("IDAT", Zlib(new byte[64])));
        png.AddRange(Chunk("IEND", []));
        return png.ToArray();
    }

    /// <summary>A bottom-up 24-bit BMP (BITMAPINFOHEADER) of the given RGB pixels.</summary>
    public static byte[] Bmp(int width, int height, byte[] rgb)
    {
        var rowBytes = (width * 3 + 3) & ~3;
        var data = new byte[54 + rowBytes * height];
        "BM"u8.CopyTo(data);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(2), data.Length);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(34), rowBytes * height);
        for (var y = 0; y < height; y++)
        {
            var row = 54 + (height - 1 - y) * rowBytes;
            for (var x = 0; x < width; x++)
            {
                var s = (y * width + x) * 3;
                data[row + x * 3] = rgb[s + 2];
                data[row + x * 3 + 1] = rgb[s + 1];
                data[row + x * 3 + 2] = rgb[s];
            }
        }
        return data;
    }

    /// <summary>A 1×1 GIF89a whose only pixel is palette entry 0 = <paramref name="colour"/>, optionally marked transparent.</summary>
    public static byte[] Gif1x1((byte R, byte G, byte B) colour, bool transparent) =>
    [
        .. "GIF89a"u8.ToArray(), 1, 0, 1, 0, 0x80, 0, 0,  // 1×1, global palette of 2 entries
        colour.R, colour.G, colour.B, 0, 0, 0,
        0x21, 0xF9, 4, (byte)(transparent ? 1 : 0), 0, 0, 0, 0, // graphic control: transparent index 0
        0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0,                   // image descriptor
        2, 2, 0x44, 0x01, 0,                               // LZW: clear, index 0, end
        0x3B,
    ];

    private static IEnumerable<byte> Chunk(string type, byte[] body)
    {
        var typed = Encoding.ASCII.GetBytes(type).Concat(body).ToArray();
        return BigEndian32((uint)body.Length).Concat(typed).Concat(BigEndian32(Crc32(typed)));
    }

    private static byte[] Zlib(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Optimal))
            z.Write(raw);
        return ms.ToArray();
    }

    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }

    private static byte[] BigEndian16(ushort v) => [(byte)(v >> 8), (byte)v];

    private static byte[] BigEndian32(uint v) => [(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v];
}
