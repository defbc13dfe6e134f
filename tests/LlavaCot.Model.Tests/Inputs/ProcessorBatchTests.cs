using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.IO;
using LlavaCot.Tests;
using SkiaSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Inputs;

public class ProcessorBatchTests
{
    public static IEnumerable<object[]> BatchFolders() =>
        PreprocessFixture.Folders
            .Where(f => Fixtures.Has(f) && PreprocessFixture.Manifest(f).TryGetProperty("batch_preprocess", out _))
            .Select(f => new object[] { f });

    [Theory]
    [MemberData(nameof(BatchFolders))]
    public void A_nested_batch_matches_the_hf_golden(string folder)
    {
        using var scope = NewDisposeScope();
        var manifest = PreprocessFixture.Manifest(folder);
        var samples = manifest.GetProperty("batch_preprocess").EnumerateArray()
            .Select(s => (IReadOnlyList<RgbImage>)s.EnumerateArray()
                .Select(name => ImageDecoder.DecodeFile(new PreprocessFixture(folder, name.GetString()!).ImagePath))
                .ToList())
            .ToList();
        using var stored = SafetensorsFile.Open(Fixtures.Path(folder, "preprocess", "batch.safetensors"));

        using var batch = new MllamaImageProcessor(PreprocessorConfig.Load(Fixtures.Path(folder))).Process(samples);

        TensorAssert.Equal(stored.Read("pixel_values"), batch.PixelValues, "pixel_values");
        TensorAssert.Equal(stored.Read("aspect_ratio_ids"), batch.AspectRatioIds, "aspect_ratio_ids");
        TensorAssert.Equal(stored.Read("aspect_ratio_mask"), batch.AspectRatioMask, "aspect_ratio_mask");
        TensorAssert.Equal(stored.Read("num_tiles"), batch.NumTiles, "num_tiles");
    }

    private static MllamaImageProcessor Tiny() => new(PreprocessorConfig.Load(Fixtures.MllamaTiny));

    [Fact]
    public void A_1x1_image_is_upscaled_to_one_uniform_tile()
    {
        using var scope = NewDisposeScope();
        var processor = Tiny();
        var tile = processor.Config.TileHeight;
        var image = ImageDecoder.Decode(TestImages.EncodeRgb(1, 1, [200, 100, 50], SKEncodedImageFormat.Png));

        using var batch = processor.Process(image);

        var tiles = batch.Images[0][0];
        Assert.Equal((1, 1, 1), (tiles.TileRows, tiles.TileCols, tiles.AspectRatioId));
        Assert.Equal((tile, tile), (tiles.Resized.Width, tiles.Resized.Height));
        Assert.All(tiles.Resized.Pixels.Chunk(3), p => Assert.Equal([200, 100, 50], p));
        var channelValues = batch.PixelValues[0, 0, 0].amax([1, 2]) - batch.PixelValues[0, 0, 0].amin([1, 2]);
        Assert.Equal(0f, channelValues.abs().max().item<float>());
        Assert.Equal(0f, batch.PixelValues[0, 0, 1..].abs().max().item<float>());
    }

    [Fact]
    public void Padding_is_normalised_zero_and_unused_tile_slots_are_exactly_zero()
    {
        using var scope = NewDisposeScope();
        var processor = Tiny();
        var config = processor.Config;
        var tile = config.TileHeight;
        // Wide enough for a 1×2 grid whose second tile is only partly covered.
        var image = new RgbImage(tile + tile / 2, tile, Enumerable.Repeat((byte)255, (tile + tile / 2) * tile * 3).ToArray());

        using var batch = processor.Process(image);

        Assert.Equal((1, 2), (batch.Images[0][0].TileRows, batch.Images[0][0].TileCols));
        for (var c = 0; c < 3; c++)
        {
            var padded = (float)((0 - (float)config.ImageMean[c]) / (float)config.ImageStd[c]);
            var white = (float)(((float)(255 * config.RescaleFactor) - (float)config.ImageMean[c]) / (float)config.ImageStd[c]);
            Assert.Equal(white, batch.PixelValues[0, 0, 1, c, 0, tile / 2 - 1].item<float>());
            Assert.Equal(padded, batch.PixelValues[0, 0, 1, c, 0, tile / 2].item<float>());
            Assert.Equal(padded, batch.PixelValues[0, 0, 1, c, tile - 1, tile - 1].item<float>());
        }
        Assert.Equal(0f, batch.PixelValues[0, 0, 2..].abs().max().item<float>());
        Assert.Equal(new long[] { 1, 1, 0, 0 }, batch.AspectRatioMask[0, 0].data<long>().ToArray());
    }

    [Fact]
    public void Missing_images_are_zero_with_id_0_and_mask_slot_0_set()
    {
        using var scope = NewDisposeScope();
        var processor = Tiny();
        var image = new RgbImage(5, 5, new byte[75]);

        using var batch = processor.Process([[image, image], []]);

        Assert.Equal(new long[] { 2, 2, processor.MaxTiles, 3, processor.TileSize, processor.TileSize }, batch.PixelValues.shape);
        Assert.Equal(new long[] { 1, 1, 0, 0 }, batch.AspectRatioIds.flatten().data<long>().ToArray());
        Assert.Equal(new long[] { 1, 1, 0, 0 }, batch.NumTiles.flatten().data<long>().ToArray());
        Assert.Equal(1L, batch.AspectRatioMask[1, 0, 0].item<long>());
        Assert.Equal(1L, batch.AspectRatioMask[1].sum().item<long>() - batch.AspectRatioMask[1, 1].sum().item<long>());
        Assert.Equal(0f, batch.PixelValues[1].abs().max().item<float>());
    }

    [Fact]
    public void Result_tensors_go_to_the_callers_scope_or_live_until_the_batch_is_disposed()
    {
        var processor = Tiny();
        var image = new RgbImage(3, 3, new byte[27]);
        ImageBatch scoped;
        using (NewDisposeScope())
        {
            scoped = processor.Process(image);
            Assert.Equal(1L, scoped.NumTiles.item<long>());
        }
        Assert.True(scoped.PixelValues.IsInvalid && scoped.AspectRatioMask.IsInvalid);

        var owned = processor.Process(image);
        Assert.Equal(1L, owned.AspectRatioIds.item<long>());
        owned.Dispose();
        Assert.True(owned.PixelValues.IsInvalid && owned.AspectRatioIds.IsInvalid && owned.NumTiles.IsInvalid);
    }

    [Fact]
    public void Unsupported_configs_are_refused()
    {
        var config = PreprocessorConfig.Load(Fixtures.MllamaTiny);
        Assert.Throws<ConfigException>(() => new MllamaImageProcessor(config with { TileWidth = config.TileHeight + 1 }));
        Assert.Throws<ConfigException>(() => new MllamaImageProcessor(config with { DoPad = false }));
        Assert.Throws<ConfigException>(() => new MllamaImageProcessor(config with { Resample = 3 }));
        Assert.Throws<ArgumentException>(() => new MllamaImageProcessor(config).Process(Array.Empty<IReadOnlyList<RgbImage>>()));
    }
}
