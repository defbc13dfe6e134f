using LlavaCot.Model.Generation;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.Text;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Mllama;

/// <summary>Several sequences per batch and several images per prompt, checked for consistency.</summary>
public class BatchAndMultiImageTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    [Fact]
    public void Additive_mask_follows_each_image_span()
    {
        var tokens = tiny.Model.Config.Vision.TokensPerTile;
        // Two images: rows 0-1 see none, rows 2-3 see image 0 (2 tiles), rows 4-5 see image 1 (all 4 tiles).
        var dense = zeros(1, 6, 2, 4, ScalarType.Int64);
        dense[0, TensorIndex.Slice(2, 4), 0, TensorIndex.Slice(0, 2)] = tensor(1L);
        dense[0, TensorIndex.Slice(4, 6), 1, TensorIndex.Slice(0, 4)] = tensor(1L);
        using var mask = CrossAttentionBias.FromDense(dense, tokens, ScalarType.Float32, CPU);
        var additive = mask.Additive.data<float>().ToArray();
        var rows = mask.RowMask.data<float>().ToArray();
        var keys = 2 * 4 * tokens;
        Assert.Equal(new long[] { 1, 1, 6, keys }, mask.Additive.shape);
        for (var row = 0; row < 6; row++)
        {
            Assert.Equal(row >= 2 ? 1f : 0f, rows[row]);
            for (var key = 0; key < keys; key++)
            {
                var (image, tile) = (key / (4 * tokens), key / tokens % 4);
                var visible = row < 2 || (row < 4 ? image == 0 && tile < 2 : image == 1);
                Assert.Equal(visible ? 0f : float.MinValue, additive[row * keys + key]);
            }
        }
    }

    [Fact]
    public void A_batch_of_two_gives_each_sequence_its_own_logits()
    {
        using var c0 = FixtureCase.Open(Fixtures.MllamaTiny, "case0");
        using var c1 = FixtureCase.Open(Fixtures.MllamaTiny, "case1");
        using var scope = NewDisposeScope();
        var ids = c0.Read("input_ids");
        var imagePosition = Array.IndexOf(c0.ReadIds("input_ids"), (long)tiny.Model.Config.ImageTokenIndex);
        Tensor DenseFor(FixtureCase c) => SingleImageMask(ids.shape[1], imagePosition, c.Read("aspect_ratio_mask"));
        using var first = new ModelInputs(ids.clone(), c0.Read("pixel_values"), c0.Read("aspect_ratio_ids"), c0.Read("aspect_ratio_mask"), DenseFor(c0));
        using var second = new ModelInputs(ids.clone(), c1.Read("pixel_values"), c1.Read("aspect_ratio_ids"), c1.Read("aspect_ratio_mask"), DenseFor(c1));
        using var both = new ModelInputs(cat([ids, ids]), cat([first.PixelValues!, second.PixelValues!]),
            cat([first.AspectRatioIds!, second.AspectRatioIds!]), cat([first.AspectRatioMask!, second.AspectRatioMask!]),
            cat([first.CrossAttentionMask!, second.CrossAttentionMask!]));

        var batched = Logits(both);
        TensorAssert.Close(Logits(first), batched.narrow(0, 0, 1), 1e-4, "sequence 0 of the batch");
        TensorAssert.Close(Logits(second), batched.narrow(0, 1, 1), 1e-4, "sequence 1 of the batch");
    }

    [Fact]
    public void With_two_images_rows_before_the_second_image_do_not_see_it()
    {
        using var c0 = FixtureCase.Open(Fixtures.MllamaTiny, "case0");
        using var c1 = FixtureCase.Open(Fixtures.MllamaTiny, "case1");
        using var scope = NewDisposeScope();
        var image = (long)tiny.Model.Config.ImageTokenIndex;
        // No text before the first image: a row that sees no image attends to every image token (HF semantics).
        long[] prompt = [image, 65, 66, 67, 68, image, 69, 70];
        var ids = tensor(prompt).view(1, -1);
        var maskA = c0.Read("aspect_ratio_mask");
        var maskB = c1.Read("aspect_ratio_mask");
        var dense = zeros(1, prompt.Length, 2, maskA.shape[2], ScalarType.Int64);
        dense.narrow(1, 0, 5).narrow(2, 0, 1).copy_(maskA.view(1, 1, 1, -1).expand(1, 5, 1, -1));
        dense.narrow(1, 5, 3).narrow(2, 1, 1).copy_(maskB.view(1, 1, 1, -1).expand(1, 3, 1, -1));
        ModelInputs Inputs(Tensor secondPixels) => new(ids.clone(), cat([c0.Read("pixel_values"), secondPixels], 1),
            cat([c0.Read("aspect_ratio_ids"), c1.Read("aspect_ratio_ids")], 1), cat([maskA, maskB], 1), dense.clone());

        using var original = Inputs(c1.Read("pixel_values"));
        using var altered = Inputs(c1.Read("pixel_values") * 0.5);
        var a = Logits(original);
        var b = Logits(altered);
        TensorAssert.Equal(a.narrow(1, 0, 5), b.narrow(1, 0, 5), "rows before the second image");
        Assert.True(TensorAssert.MaxAbsDiff(a.narrow(1, 5, 3), b.narrow(1, 5, 3)) > 1e-3, "rows after the second image must see it");
    }

    private static Tensor SingleImageMask(long length, long position, Tensor aspectRatioMask)
    {
        var tiles = aspectRatioMask.shape[2];
        var dense = zeros(1, length, 1, tiles, ScalarType.Int64);
        dense.narrow(1, position, length - position).copy_(aspectRatioMask.view(1, 1, 1, tiles).expand(1, length - position, 1, tiles));
        return dense;
    }

    private Tensor Logits(ModelInputs inputs)
    {
        using var mode = inference_mode();
        using var image = ImageContext.Create(tiny.Model, inputs)!;
        return tiny.Model.Prefill(inputs.InputIds, null, image.Kv, image.Prompt, allLogits: true);
    }
}
