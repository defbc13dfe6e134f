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
        Tensor? output = null;
        foreach (var step in Steps(pixelValues, aspectRatioIds, aspectRatioMask, trace))
            output = step;
        // The pass's tensors belong to no dispose scope: the caller's scope takes an alias of the output.
        using var owned = output!;
        return owned.alias();
    }

    /// <summary>Encoder layers of one pass: the local ones, then the global ones (a step each in <see cref="Steps"/>).</summary>
    public int Layers => transformer.Count + global_transformer.Count;

    /// <summary>
    /// The same pass one encoder layer per step, so that a scheduler can run other work between layers: a layer is
    /// exact, a slice of one is not (attention spans all tiles). Yields null after every layer but the last, then the
    /// output (its owner: the caller). The embeddings run with the first layer, the output's assembly with the last.
    /// Between steps the pass's tensors belong to no dispose scope; disposing the enumerator early frees them.
    /// </summary>
    public IEnumerable<Tensor?> Steps(Tensor pixelValues, Tensor aspectRatioIds, Tensor aspectRatioMask, ForwardTrace? trace = null)
    {
        var c = _config;
        var (b, m, t) = (pixelValues.shape[0], pixelValues.shape[1], pixelValues.shape[2]);
        var (d, p, padded) = ((long)c.HiddenSize, (long)c.TokensPerTile, (long)c.PaddedTokensPerTile);
        var bm = b * m;
        var indices = c.IntermediateLayersIndices;
        var keep = trace is null ? indices.ToHashSet() : Enumerable.Range(0, c.NumHiddenLayers + 1).ToHashSet();
        var states = new Dictionary<int, Tensor>();
        Tensor? x = null, mask = null, ids = null;
        try
        {
            (x, mask, ids) = Embed(pixelValues, aspectRatioIds, aspectRatioMask, trace);
            if (keep.Contains(0))
                states[0] = x;
            for (var i = 0; i < transformer.Count; i++)
            {
                var next = Detached(() => transformer[i].Forward(x!, mask!));
                if (!keep.Contains(i))
                    x.Dispose();
                x = next;
                if (keep.Contains(i + 1))
                    states[i + 1] = x;
                if (trace is not null)
                    trace.Append("vision_local_hidden_states", states[i]);
                if (i + 1 < transformer.Count || global_transformer.Count > 0)
                    yield return null;
            }
            if (trace is not null)
                trace.Append("vision_local_hidden_states", states[transformer.Count]);
            var local = x;
            x = Detached(() =>
            {
                var y = layernorm_post.Forward(local);
                trace?.Record("vision_post_layernorm_out", y);
                return post_tile_positional_embedding.Forward(y.view(bm, t, padded, d), ids).reshape(bm, t * padded, d);
            });
            if (!keep.Contains(transformer.Count))
                local.Dispose();
            for (var j = 0; j < global_transformer.Count; j++)
            {
                var next = Detached(() => global_transformer[j].Forward(x!, mask!));
                x.Dispose();
                x = next;
                if (j + 1 < global_transformer.Count)
                    yield return null;
            }
            var global = x;
            yield return Detached(() =>
            {
                trace?.Record("vision_global_out", global);
                var features = global.view(bm, t, padded, d).narrow(2, 0, p);
                // Stacking on a new last axis interleaves the layers: feature index = d·k + j for layer j.
                var intermediate = stack(indices.Select(i => states[i]), -1)
                    .reshape(bm, t, padded, d * indices.Length).narrow(2, 0, p);
                var output = cat([features, intermediate], -1).reshape(b, m, t, p, -1);
                trace?.Record("vision_model_output", output);
                return output;
            });
        }
        finally
        {
            // By reference: a tensor's Equals compares its elements.
            var held = new HashSet<Tensor>(states.Values, ReferenceEqualityComparer.Instance);
            if (x is not null)
                held.Add(x);
            foreach (var s in held)
                s.Dispose();
            mask?.Dispose();
            ids?.Dispose();
        }
    }

    /// <summary>Patch, class and position embeddings, the pre-norm and tile padding; and the local encoder's mask.</summary>
    private (Tensor X, Tensor Mask, Tensor Ids) Embed(Tensor pixelValues, Tensor aspectRatioIds, Tensor aspectRatioMask, ForwardTrace? trace)
    {
        using var scope = NewDisposeScope();
        var c = _config;
        var (b, m, t) = (pixelValues.shape[0], pixelValues.shape[1], pixelValues.shape[2]);
        var (d, p, padded) = ((long)c.HiddenSize, (long)c.TokensPerTile, (long)c.PaddedTokensPerTile);
        var bm = b * m;
        var (dtype, device) = (class_embedding.dtype, class_embedding.device);
        var ids = aspectRatioIds.reshape(bm).to(device);

        var pixels = pixelValues.reshape(bm * t, c.NumChannels, c.ImageSize, c.ImageSize).to(dtype, device);
        var patches = patch_embedding.Forward(pixels);
        trace?.Record("vision_patch_embeds", patches);
        var x = patches.flatten(2).transpose(1, 2).reshape(bm, t, p - 1, d);
        x = pre_tile_positional_embedding.Forward(x, ids);
        x = cat([class_embedding.expand(bm, t, 1, d), x], 2);
        x = gated_positional_embedding.Forward(x, ids);
        x = layernorm_pre.Forward(x);
        trace?.Record("vision_pre_layernorm_out", x);

        x = nn.functional.pad(x, [0, 0, 0, padded - p]);
        var mask = AttentionMask(aspectRatioMask.reshape(bm, t).to(device), p, padded, dtype);
        trace?.Record("vision_attention_mask", mask);
        x = x.reshape(bm, t * padded, d);
        return (x.DetachFromDisposeScope(), mask.DetachFromDisposeScope(), ids.clone().DetachFromDisposeScope());
    }

    private static Tensor Detached(Func<Tensor> work)
    {
        using var scope = NewDisposeScope();
        return work().DetachFromDisposeScope();
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
        return masked.matmul(masked.transpose(1, 2)).mul(Scalars.Of(Masks.MinValue(dtype))).unsqueeze(1);
    }
}
