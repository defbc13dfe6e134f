namespace LlavaCot.Model.Inputs;

/// <summary>What the decoder accepts; checked against the header before any pixel memory is allocated.</summary>
public sealed record ImageLimits
{
    /// <summary>The RGBA decode buffer (4 bytes a pixel) must fit in one array, whose length tops out near 2^31.</summary>
    public const long MaxSupportedPixels = 500_000_000;

    public static ImageLimits Default { get; } = new();

    private readonly long _maxPixels = 40_000_000;

    /// <summary>Largest width × height accepted (default 40 megapixels).</summary>
    public long MaxPixels
    {
        get => _maxPixels;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxSupportedPixels);
            _maxPixels = value;
        }
    }
}
