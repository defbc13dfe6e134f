using LlavaCot.Model.Config;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Vision;

/// <summary>One learnt vector per tile for each aspect ratio, added to every token of that tile, scaled by tanh(gate).</summary>
public sealed class PrecomputedAspectRatioEmbedding : nn.Module
{
    private readonly Embedding embedding;
    private readonly Parameter gate;
    private readonly long _tiles;
    private readonly long _hidden;

    public PrecomputedAspectRatioEmbedding(WeightScope w, MllamaVisionConfig c) : base(nameof(PrecomputedAspectRatioEmbedding))
    {
        _tiles = c.MaxNumTiles;
        _hidden = c.HiddenSize;
        embedding = new Embedding(w["embedding"], c.AspectRatioEmbeddings, _tiles * _hidden);
        gate = w.Param("gate", 1);
        RegisterComponents();
    }

    /// <param name="x">[BM, T, tokens, D]</param>
    /// <param name="aspectRatioIds">[BM]</param>
    public Tensor Forward(Tensor x, Tensor aspectRatioIds)
    {
        using var scope = NewDisposeScope();
        var perTile = embedding.Forward(aspectRatioIds).view(-1, _tiles, 1, _hidden);
        return x.Plus(gate.tanh() * perTile).MoveToOuterDisposeScope();
    }
}
