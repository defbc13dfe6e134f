using LlavaCot.Model.Inputs;
using LlavaCot.Model.IO;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Inputs;

public class ProcessorFixtureTests
{
    [SkippableTheory]
    [Trait(Category.Name, Category.Fixtures)]
    [MemberData(nameof(PreprocessFixture.All), MemberType = typeof(PreprocessFixture))]
    public void Decode_and_preprocess_match_the_hf_goldens(string folder, string name)
    {
        using var scope = NewDisposeScope();
        var fx = new PreprocessFixture(folder, name);
        using var stored = SafetensorsFile.Open(fx.TensorPath);

        var image = ImageDecoder.DecodeFile(fx.ImagePath);
        Assert.Equal((fx.Int("width"), fx.Int("height")), (image.Width, image.Height));
        if (stored.Contains("rgb_u8"))
            TensorAssert.Equal(stored.Read("rgb_u8"), PreprocessFixture.AsTensor(image), $"{name} rgb_u8");

        using var batch = new MllamaImageProcessor(fx.Config).Process(image);
        var tiles = batch.Images[0][0];
        Assert.Equal(fx.Pair("resized_hw"), (tiles.Resized.Height, tiles.Resized.Width));
        Assert.Equal(fx.Pair("tiles_hw"), (tiles.TileRows, tiles.TileCols));
        Assert.Equal(fx.Int("aspect_ratio_id"), tiles.AspectRatioId);
        Assert.Equal(fx.Int("num_tiles"), tiles.NumTiles);
        TensorAssert.Equal(stored.Read("resized_u8"), PreprocessFixture.AsTensor(tiles.Resized), $"{name} resized_u8");

        var grid = stored.Read(stored.Contains("tiles_hw") ? "tiles_hw" : "aspect_ratio_hw");
        TensorAssert.Equal(grid, tensor(new long[] { tiles.TileRows, tiles.TileCols }), $"{name} tile grid");
        TensorAssert.Equal(stored.Read("aspect_ratio_ids"), batch.AspectRatioIds, $"{name} aspect_ratio_ids");
        TensorAssert.Equal(stored.Read("aspect_ratio_mask"), batch.AspectRatioMask, $"{name} aspect_ratio_mask");
        TensorAssert.Equal(stored.Read("num_tiles"), batch.NumTiles, $"{name} num_tiles");
        Assert.Equal(ScalarType.Float32, batch.PixelValues.dtype);

        if (stored.Contains("pixel_values"))
        {
            TensorAssert.Close(stored.Read("pixel_values"), batch.PixelValues, 1e-6, $"{name} pixel_values");
            return;
        }
        var shape = stored.Read("pixel_values_shape").data<long>().ToArray();
        Assert.Equal(shape, batch.PixelValues.shape);
        var flat = batch.PixelValues[0, 0].flatten();
        var sampled = flat.index_select(0, stored.Read("pixel_sample_index"));
        TensorAssert.Close(stored.Read("pixel_sample_value"), sampled, 1e-6, $"{name} sampled pixel_values");

        var perTile = batch.PixelValues[0, 0].to(ScalarType.Float64);
        var sums = stack([perTile.sum([2, 3]), perTile.square().sum([2, 3])]);
        var expected = stored.Read("pixel_sums");
        var excess = ((sums - expected).abs() - expected.abs() * 1e-3).max().item<double>();
        Assert.True(excess <= 1e-9, $"{name} pixel_sums: off by more than 1e-3 relative (excess {excess:G4})");
    }
}
