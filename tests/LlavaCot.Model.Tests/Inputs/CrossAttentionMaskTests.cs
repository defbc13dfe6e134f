using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.IO;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Inputs;

public class CrossAttentionMaskTests
{
    private const int Img = 9;

    [Theory]
    [MemberData(nameof(TinyCase.Names), MemberType = typeof(TinyCase))]
    public void Dense_mask_from_the_case_ids_equals_the_reference(string name)
    {
        var c = TinyCase.Get(name);
        var imageToken = MllamaConfig.Load(Fixtures.MllamaTiny).ImageTokenIndex;
        var maxTiles = PreprocessorConfig.Load(Fixtures.MllamaTiny).MaxImageTiles;
        Assert.Equal(c.Ranges.Select(r => new ImageTokenSpan(r[0], r[1])), CrossAttentionMask.TokenSpans(c.InputIds, imageToken));

        using var scope = NewDisposeScope();
        using var file = SafetensorsFile.Open(Fixtures.Path("mllama-tiny", "cases", name + ".safetensors"));
        var mask = CrossAttentionMask.Dense([c.InputIds], imageToken, c.NumTiles, maxTiles);
        Assert.Equal(ScalarType.Int64, mask.dtype);
        TensorAssert.Equal(file.Read("cross_attention_mask"), mask, "cross_attention_mask");
    }

    [Fact]
    public void Spans_follow_hf_for_several_and_consecutive_image_tokens()
    {
        //                 0  1    2  3    4    5  6  7    8  9
        int[] ids = [1, Img, 2, Img, Img, 3, 4, Img, 5, 6];
        Assert.Equal(
            [new(1, 3), new(3, 7), new(4, 7), new(7, 10)],
            CrossAttentionMask.TokenSpans(ids, Img));
        Assert.Equal([new ImageTokenSpan(2, -1)], CrossAttentionMask.TokenSpans([0, 0, Img, 0], Img));
        Assert.Empty(CrossAttentionMask.TokenSpans([0, 1, 2], Img));
        // A run at the very end: each earlier token of the run takes the run's end.
        Assert.Equal([new(0, 3), new(1, 3), new(2, 3)], CrossAttentionMask.TokenSpans([Img, Img, Img], Img));
    }

    [Fact]
    public void Dense_mask_of_a_batch_sets_tiles_per_image()
    {
        IReadOnlyList<int>[] ids = [[1, Img, 2, Img, Img, 3], [Img, 7, 8]];
        int[][] tiles = [[1, 2, 4], [3]];
        var mask = CrossAttentionMask.Dense(ids, Img, tiles, maxTiles: 4);
        Assert.Equal([2L, 6, 3, 4], mask.shape);
        var m = mask.data<long>().ToArray();
        long At(int b, int t, int i, int tile) => m[((b * 6 + t) * 3 + i) * 4 + tile];

        for (var t = 0; t < 6; t++)
        {
            for (var tile = 0; tile < 4; tile++)
            {
                Assert.Equal(t is >= 1 and < 3 && tile < 1 ? 1 : 0, At(0, t, 0, tile));
                Assert.Equal(t is >= 3 and < 6 && tile < 2 ? 1 : 0, At(0, t, 1, tile));
                Assert.Equal(t is >= 4 and < 6 && tile < 4 ? 1 : 0, At(0, t, 2, tile));
                // One image: it spans to the end of the padded batch, as HF's -1 does.
                Assert.Equal(tile < 3 ? 1 : 0, At(1, t, 0, tile));
                Assert.Equal(0, At(1, t, 1, tile));
                Assert.Equal(0, At(1, t, 2, tile));
            }
        }
        Assert.Equal(1 * 2 + 2 * 3 + 4 * 2 + 3 * 6, mask.sum().item<long>());
    }

    [Fact]
    public void Image_count_mismatch_and_too_many_tiles_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => CrossAttentionMask.Dense([[Img, 1, Img]], Img, [[1]], 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => CrossAttentionMask.Dense([[Img, 1]], Img, [[5]], 4));
    }
}
