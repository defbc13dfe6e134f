using LlavaCot.Model.Config;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Vision;

/// <summary>
/// The tiled vision tower (mllama-spec §6): patch embedding, aspect-ratio and position embeddings, a local
/// encoder over all tiles of an image as one sequence, then a gated global encoder. The output concatenates
/// the global features with the selected local layers' features, interleaved.
/// </summary>
public sealed class MllamaVisionModel : nn.Module
{
    private readonly PatchEmbedding patch_embedding;
    private readonly Parameter class_embedding;
    private readonly PrecomputedPositionEmbedding gated_positional_embedding;
    private readonly PrecomputedAspectRatioEmbedding pre_tile_positional_embedding;
    private readonly PrecomputedAspectRatioEmbedding post_tile_positional_embedding;
    private readonly LayerNorm layernorm_pre;
    private readonly LayerNorm layernorm_post;
    private readonly VisionEncoder transformer;
    private readonly VisionEncoder global_transformer;
    private readonly MllamaVisionConfig _config;

    // HF builds layernorm_pre/post with nn.LayerNorm's default eps, not norm_eps.
    private const double OuterNormEps = 1e-5;

    public MllamaVisionModel(WeightScope w, MllamaVisionConfig c) : base(nameof(MllamaVisionModel))
    {
        _config = c;
        patch_embedding = new PatchEmbedding(w["patch_embedding"], c);
        class_embedding = w.Param("class_embedding", c.HiddenSize);
        gated_positional_embedding = new PrecomputedPositionEmbedding(w["gated_positional_embedding"], c);
        pre_tile_positional_embedding = new PrecomputedAspectRatioEmbedding(w["pre_tile_positional_embedding"], c);
        post_tile_positional_embedding = new PrecomputedAspectRatioEmbedding(w["post_tile_positional_embedding"], c);
        layernorm_pre = new LayerNorm(w["layernorm_pre"], c.HiddenSize, OuterNormEps);
        layernorm_post = new LayerNorm(w["layernorm_post"], c.HiddenSize, OuterNormEps);
        transformer = new VisionEncoder(w["transformer"], c, c.NumHiddenLayers, gated: false);
        global_transformer = new VisionEncoder(w["global_transformer"], c, c.NumGlobalLayers, gated: true);
        RegisterComponents();
    }

    /// <param name="pixelValues">[B, M, T, C, S, S]</param>
    /// <param name="aspectRatioIds">[B, M]</param>
    /// <param name="aspectRatioMask">[B, M, T]</param>
    /// <returns>[B, M, T, P, vision_output_dim]</returns>
    public Tensor Forward(Tensor pixelValues, Tensor aspectRatioIds, Tensor aspectRatioMask, ForwardTrace? trace = null)
    {
        using var scope = NewDisposeScope();
        var c = _config;
        var (b, m, t) = (pixelValues.shape[0], pixelValues.shape[1], pixelValues.shape[2]);
        var (d, p, padded) = ((long)c.HiddenSize, (long)c.TokensPerTile, (long)c.PaddedTokensPerTile);
        var bm = b * m;
        var ids = aspectRatioIds.reshape(bm);
        var dtype = class_embedding.dtype;

        var pixels = pixelValues.reshape(bm * t, c.NumChannels, c.ImageSize, c.ImageSize).to(dtype);
        var patches = patch_embedding.Forward(pixels);
        trace?.Record("vision_patch_embeds", patches);
        var x = patches.flatten(2).transpose(1, 2).reshape(bm, t, p - 1, d);
        x = pre_tile_positional_embedding.Forward(x, ids);
        x = cat([class_embedding.expand(bm, t, 1, d), x], 2);
        x = gated_positional_embedding.Forward(x, ids);
        x = layernorm_pre.Forward(x);
        trace?.Record("vision_pre_layernorm_out", x);

        x = nn.functional.pad(x, [0, 0, 0, padded - p]);
        var mask = AttentionMask(aspectRatioMask.reshape(bm, t), p, padded, dtype);
        trace?.Record("vision_attention_mask", mask);
        x = x.reshape(bm, t * padded, d);

        var indices = c.IntermediateLayersIndices;
        var keep = trace is null ? indices.ToHashSet() : Enumerable.Range(0, c.NumHiddenLayers + 1).ToHashSet();
        var states = new Dictionary<int, Tensor>();
        x = transformer.Forward(x, mask, keep, states);
        if (trace is not null)
        {
            for (var i = 0; i <= c.NumHiddenLayers; i++)
                trace.Append("vision_local_hidden_states", states[i]);
        }

        x = layernorm_post.Forward(x);
        trace?.Record("vision_post_layernorm_out", x);
        x = post_tile_positional_embedding.Forward(x.view(bm, t, padded, d), ids);
        x = global_transformer.Forward(x.reshape(bm, t * padded, d), mask);
        trace?.Record("vision_global_out", x);
        x = x.view(bm, t, padded, d).narrow(2, 0, p);

        // Stacking on a new last axis interleaves the layers: feature index = d·k + j for layer j.
        var intermediate = stack(indices.Select(i => states[i]), -1)
            .reshape(bm, t, padded, d * indices.Length).narrow(2, 0, p);
        var output = cat([x, intermediate], -1).reshape(b, m, t, p, -1);
        trace?.Record("vision_model_output", output);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// [BM, 1, T·padded, T·padded] additive mask: a position is "masked" if it pads a tile or lies in an unused
    /// tile; only pairs of two masked positions are blocked (outer product), as in HF and Meta's code.
    /// </summary>
    private static Tensor AttentionMask(Tensor tileMask, long tokens, long padded, ScalarType dtype)
    {
        var (bm, t) = (tileMask.shape[0], tileMask.shape[1]);
        var masked = ones(bm, t, padded, dtype: dtype, device: tileMask.device);
        masked.narrow(2, 0, tokens).copy_((1 - tileMask.to(dtype)).view(bm, t, 1).expand(bm, t, tokens));
        masked = masked.reshape(bm, t * padded, 1);
        return (masked.matmul(masked.transpose(1, 2)) * Masks.MinValue(dtype)).unsqueeze(1);
    }
}
