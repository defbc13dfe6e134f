using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Inputs;

/// <summary>
/// Very thin strips: HF floors the thin side to 0 pixels and raises; here it keeps at least 1 pixel, and the
/// strip is laid along the longest grid with its pixels in the first columns (or rows) of every tile.
/// </summary>
public class ProcessorStripTests
{
    private static readonly byte[] Colour = [200, 150, 120];

    [SkippableTheory]
    [Trait(Category.Name, Category.Fixtures)]
    [InlineData("mllama-realscale-preprocess", 1, 4000, 1)]
    [InlineData("mllama-realscale-preprocess", 4000, 1, 1)]
    [InlineData("mllama-realscale-preprocess", 3, 9000, 1)]
    [InlineData("mllama-realscale-preprocess", 9000, 3, 1)]
    // Floors to 1 pixel on its own, and a wider strip keeps its proportion: the clamp changes neither.
    [InlineData("mllama-realscale-preprocess", 2, 3000, 1)]
    [InlineData("mllama-realscale-preprocess", 10, 4000, 5)]
    [InlineData("mllama-tiny", 1, 4000, 1)]
    [InlineData("mllama-tiny", 4000, 1, 1)]
    public void A_strip_is_processed_with_its_thin_side_at_least_one_pixel(string folder, int width, int height, int thin)
    {
        using var scope = NewDisposeScope();
        var processor = new MllamaImageProcessor(PreprocessorConfig.Load(Fixtures.Path(folder)));
        var tall = height > width;
        var strip = new RgbImage(width, height, Enumerable.Repeat(Colour, width * height).SelectMany(c => c).ToArray());

        using var batch = processor.Process(strip);

        var tiles = batch.Images[0][0];
        var (tile, max) = (processor.TileSize, processor.MaxTiles);
        Assert.Equal(tall ? (max, 1) : (1, max), (tiles.TileRows, tiles.TileCols));
        Assert.Equal(tall ? (thin, max * tile) : (max * tile, thin), (tiles.Resized.Width, tiles.Resized.Height));
        Assert.Equal(max, batch.NumTiles.item<long>());
        Assert.Equal(new long[] { 1, 1, max, 3, tile, tile }, batch.PixelValues.shape);

        // Across the strip: the image's pixels up to the thin side, then padding (uint8 0 normalised) in every tile.
        var values = batch.PixelValues[0, 0];
        var across = tall ? values[.., .., .., thin - 1] : values[.., .., thin - 1, ..];
        var beyond = tall ? values[.., .., .., thin] : values[.., .., thin, ..];
        for (var c = 0; c < 3; c++)
        {
            var padding = (float)((0 - processor.Config.ImageMean[c]) / processor.Config.ImageStd[c]);
            Assert.True((beyond[.., c] - padding).abs().max().item<float>() < 1e-5f, $"channel {c}: padding beyond the strip");
            Assert.True((across[.., c] - padding).abs().min().item<float>() > 0.5f, $"channel {c}: the strip's own pixels");
        }
    }
}
