namespace LlavaCot.Model.Inputs;

/// <summary>An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC), as Pillow's "RGB" mode holds it.</summary>
public sealed record RgbImage
{
    public int Width { get; }
    public int Height { get; }
    public byte[] Pixels { get; }

    public RgbImage(int Width, int Height, byte[] Pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Height);
        ArgumentNullException.ThrowIfNull(Pixels);
        if (Pixels.LongLength != (long)Width * Height * 3)
            throw new ArgumentException($"{Width}×{Height} RGB needs {(long)Width * Height * 3} bytes, got {Pixels.LongLength}", nameof(Pixels));
        this.Width = Width;
        this.Height = Height;
        this.Pixels = Pixels;
    }

    public int Stride => Width * 3;
}
