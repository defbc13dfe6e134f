using LlavaCot.Model.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Inputs;

/// <summary>
/// HF transformers 4.45's MllamaImageProcessor on decoded RGB images: choose the tile grid, resize with
/// Pillow's bilinear filter, zero-pad in uint8, rescale (float64, then float32), normalise (float32), split
/// into tiles row by row, and pack a batch. Every size comes from the preprocessor config.
/// </summary>
public sealed class MllamaImageProcessor
{
    private const int PillowBilinearFilter = 2;

    private readonly float[][] _channelValues;

    public PreprocessorConfig Config { get; }
    public int TileSize { get; }
    public int MaxTiles { get; }

    public MllamaImageProcessor(PreprocessorConfig config)
    {
        if (config.TileHeight != config.TileWidth)
            throw new ConfigException($"MllamaImageProcessor needs square tiles, got size {config.TileHeight}×{config.TileWidth}");
        if (!config.DoResize || !config.DoPad)
            throw new ConfigException("MllamaImageProcessor does not support do_resize=false or do_pad=false (neither does HF)");
        if (config.Resample != PillowBilinearFilter)
            throw new ConfigException($"resample={config.Resample} is not implemented; only {PillowBilinearFilter} (bilinear) is");
        Config = config;
        TileSize = config.TileHeight;
        MaxTiles = config.MaxImageTiles;
        _channelValues = [ChannelValues(config, 0), ChannelValues(config, 1), ChannelValues(config, 2)];
    }

    /// <summary>The float each uint8 level of a channel becomes: the whole rescale + normalise as a lookup.</summary>
    private static float[] ChannelValues(PreprocessorConfig config, int channel)
    {
        var mean = (float)config.ImageMean[channel];
        var std = (float)config.ImageStd[channel];
        var values = new float[256];
        for (var v = 0; v < 256; v++)
        {
            var x = config.DoRescale ? (float)(v * config.RescaleFactor) : v;
            values[v] = config.DoNormalize ? (x - mean) / std : x;
        }
        return values;
    }

    /// <summary>
    /// Chooses the grid and resizes the image into it. A very thin strip (1×4000) would have its thin side floored
    /// to 0 pixels, where HF raises; it keeps 1 pixel instead, so such an upload is answered rather than refused.
    /// </summary>
    public ImageTiles Prepare(RgbImage image)
    {
        var (rows, cols) = TiledCanvas.ChooseGrid(image.Height, image.Width, TileSize, MaxTiles);
        var (height, width) = TiledCanvas.FitToCanvas(image.Height, image.Width, rows * TileSize, cols * TileSize, TileSize);
        var resized = PillowBilinear.Resize(image, Math.Max(width, 1), Math.Max(height, 1));
        return new ImageTiles(resized, rows, cols, TiledCanvas.AspectRatioId(rows, cols, MaxTiles));
    }

    /// <summary>One sample with one image: tensors shaped [1, 1, ...] as HF returns for a single image.</summary>
    public ImageBatch Process(RgbImage image) => Pack([[Prepare(image)]]);

    /// <summary>Prepares and packs several samples, each with its own list of images.</summary>
    public ImageBatch Process(IReadOnlyList<IReadOnlyList<RgbImage>> batch) =>
        Pack(batch.Select(images => (IReadOnlyList<ImageTiles>)images.Select(Prepare).ToList()).ToList());

    /// <summary>
    /// Packs prepared images. Tile slots past an image's tiles, and the slots of missing images, are exactly 0;
    /// a missing image has aspect-ratio id 0 and num_tiles 0, and like in HF its first mask entry is still 1.
    /// </summary>
    public ImageBatch Pack(IReadOnlyList<IReadOnlyList<ImageTiles>> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var samples = batch.Count;
        var maxImages = samples == 0 ? 0 : batch.Max(s => s.Count);
        if (maxImages == 0)
            throw new ArgumentException("a batch needs at least one image", nameof(batch));

        var ids = new long[samples * maxImages];
        var numTiles = new long[samples * maxImages];
        var mask = new long[samples * maxImages * MaxTiles];
        using var scope = NewDisposeScope();
        var pixels = zeros([samples, maxImages, MaxTiles, 3, TileSize, TileSize], ScalarType.Float32);
        for (var b = 0; b < samples; b++)
        {
            for (var m = 0; m < maxImages; m++)
            {
                var slot = b * maxImages + m;
                mask[slot * MaxTiles] = 1;
                if (m >= batch[b].Count)
                    continue;
                var image = batch[b][m];
                ids[slot] = image.AspectRatioId;
                numTiles[slot] = image.NumTiles;
                mask.AsSpan(slot * MaxTiles, image.NumTiles).Fill(1);
                using var tiles = pixels[b, m].narrow(0, 0, image.NumTiles);
                WriteTiles(image, tiles);
            }
        }
        return new ImageBatch(
            pixels.MoveToOuterDisposeScope(),
            tensor(ids, [samples, maxImages]).MoveToOuterDisposeScope(),
            tensor(mask, [samples, maxImages, MaxTiles]).MoveToOuterDisposeScope(),
            tensor(numTiles, [samples, maxImages]).MoveToOuterDisposeScope(),
            batch);
    }

    /// <summary>Fills a contiguous float32 [num_tiles, 3, tile, tile] view with the padded, normalised canvas.</summary>
    private void WriteTiles(ImageTiles image, Tensor target)
    {
        if (image.NumTiles > MaxTiles)
            throw new ArgumentException($"{image.NumTiles} tiles exceed max_image_tiles {MaxTiles}");
        if (!target.is_contiguous() || target.dtype != ScalarType.Float32)
            throw new ArgumentException("target must be a contiguous float32 tensor");
        var tile = TileSize;
        var src = image.Resized;
        var planes = image.NumTiles * 3;
        unsafe
        {
            fixed (byte* targetBytes = target.bytes)
            {
                var dst = (IntPtr)targetBytes;
                ParallelRows.For(planes, (long)tile * tile, (first, end) =>
                {
                    for (var plane = first; plane < end; plane++)
                        WritePlane(src, plane / 3, plane % 3, image.TileCols, (float*)dst + (long)plane * tile * tile);
                });
            }
        }
    }

    /// <summary>One channel of one tile; canvas pixels outside the resized image are uint8 zeros before normalising.</summary>
    private unsafe void WritePlane(RgbImage src, int tileIndex, int channel, int tileCols, float* plane)
    {
        var tile = TileSize;
        var values = _channelValues[channel];
        var padding = values[0];
        var top = tileIndex / tileCols * tile;
        var left = tileIndex % tileCols * tile;
        var inside = Math.Clamp(src.Width - left, 0, tile);
        for (var y = 0; y < tile; y++)
        {
            var row = new Span<float>(plane + (long)y * tile, tile);
            var sy = top + y;
            if (sy >= src.Height)
            {
                row.Fill(padding);
                continue;
            }
            var p = (sy * src.Width + left) * 3 + channel;
            for (var x = 0; x < inside; x++, p += 3)
                row[x] = values[src.Pixels[p]];
            row[inside..].Fill(padding);
        }
    }
}
