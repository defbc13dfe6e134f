using LlavaCot.Model.Config;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Vision;

/// <summary>
/// Gated position embedding: (1 − tanh g)·(per-token position) + tanh g·(per-aspect-ratio, per-tile, per-token table).
/// </summary>
public sealed class PrecomputedPositionEmbedding : nn.Module
{
    private readonly Parameter gate;
    private readonly Parameter embedding;
    private readonly Embedding tile_embedding;
    private readonly long _tiles;
    private readonly long _tokens;
    private readonly long _hidden;

    public PrecomputedPositionEmbedding(WeightScope w, MllamaVisionConfig c) : base(nameof(PrecomputedPositionEmbedding))
    {
        (_tiles, _tokens, _hidden) = (c.MaxNumTiles, c.TokensPerTile, c.HiddenSize);
        gate = w.Param("gate", 1);
        embedding = w.Param("embedding", _tokens, _hidden);
        tile_embedding = new Embedding(w["tile_embedding"], c.AspectRatioEmbeddings, _tiles * _tokens * _hidden);
        RegisterComponents();
    }

    /// <param name="x">[BM, T, P, D]</param>
    /// <param name="aspectRatioIds">[BM]</param>
    public Tensor Forward(Tensor x, Tensor aspectRatioIds)
    {
        using var scope = NewDisposeScope();
        var g = gate.tanh();
        x = x.Plus(ones_like(g).add(g, Scalars.Of(-1)) * embedding.view(1, 1, _tokens, _hidden));
        var tiles = tile_embedding.Forward(aspectRatioIds).view(-1, _tiles, _tokens, _hidden);
        return x.Plus(g * tiles).MoveToOuterDisposeScope();
    }
}
