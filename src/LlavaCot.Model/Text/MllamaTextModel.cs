using LlavaCot.Model.Config;
using LlavaCot.Model.Generation;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Text;

/// <summary>The text decoder: token embedding, self- and cross-attention layers interleaved, final RMSNorm.</summary>
public sealed class MllamaTextModel : nn.Module
{
    private readonly Embedding embed_tokens;
    private readonly TorchSharp.Modules.ModuleList<DecoderLayer> layers;
    private readonly RmsNorm norm;
    private readonly RotaryEmbedding _rotary;

    public MllamaTextConfig Config { get; }

    public MllamaTextModel(WeightScope w, MllamaTextConfig c, Device device) : base(nameof(MllamaTextModel))
    {
        Config = c;
        embed_tokens = new Embedding(w["embed_tokens"], c.EmbeddingRows, c.HiddenSize);
        layers = new TorchSharp.Modules.ModuleList<DecoderLayer>(Enumerable.Range(0, c.NumHiddenLayers)
            .Select(i => c.IsCrossAttentionLayer(i)
                ? (DecoderLayer)new CrossAttentionDecoderLayer(w["layers"][i.ToString()], c, i)
                : new SelfAttentionDecoderLayer(w["layers"][i.ToString()], c, i))
            .ToArray());
        norm = new RmsNorm(w["norm"], c.HiddenSize, c.RmsNormEps);
        _rotary = new RotaryEmbedding(c, device);
        RegisterComponents();
    }

    /// <summary>Projects image states [B, K, hidden] into every cross-attention layer's keys and values.</summary>
    public CrossAttentionCache PrecomputeCrossAttention(Tensor crossStates)
    {
        var cache = new CrossAttentionCache();
        foreach (var layer in CrossLayers)
            layer.Precompute(crossStates, cache);
        return cache;
    }

    /// <summary>The cross-attention layers, in order (each projects the image states into its keys and values).</summary>
    public IReadOnlyList<CrossAttentionDecoderLayer> CrossLayers => layers.OfType<CrossAttentionDecoderLayer>().ToList();

    /// <summary>
    /// Runs n new tokens per sequence, ids [B, n], at positions cache.Length.. (0 without a cache) and returns
    /// the final-norm hidden states [B, n, hidden]. The cache, if given, is advanced by n.
    /// </summary>
    public Tensor Forward(Tensor ids, KvCache? cache, CrossAttentionCache? crossKv, CrossAttentionBias? crossMask,
        ForwardTrace? trace = null)
    {
        using var scope = NewDisposeScope();
        var n = ids.shape[1];
        var past = cache?.Length ?? 0;
        var x = embed_tokens.Forward(ids);
        trace?.Record("text_embeddings", x);
        Tensor cos, sin;
        Tensor? selfMask;
        if (cache is { IsPadded: true })
        {
            // Rows of different lengths, right-aligned: each at its own position, padding keys blocked.
            if (n != 1)
                throw new ArgumentException("a cache of stacked rows takes one token per row");
            (cos, sin) = _rotary.AtRows(cache.NextPositions(), x.dtype);
            selfMask = cache.PaddingMask(x.dtype, x.device);
        }
        else
        {
            (cos, sin) = _rotary.At(past, n, x.dtype);
            // SDPA's causal flag aligns top-left, right only without a past; with one, pass the mask explicitly.
            selfMask = n > 1 && past > 0 ? Masks.Causal(n, past, x.dtype, x.device) : null;
        }
        var group = new RowGroup(0, x.shape[0], cache, selfMask, Causal: n > 1 && past == 0, crossKv, crossMask);
        var hidden = Layers(x, new DecoderContext(cos, sin, [group]), trace);
        cache?.Advance(n);
        return hidden.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One decode step over the sequences of several requests, one token per row: each request's rows attend to its
    /// own cache and image, the linear layers run over every row at once. Returns the final-norm hidden states
    /// [rows, 1, hidden], the requests' rows in order; every cache is advanced by one.
    /// </summary>
    public Tensor Decode(IReadOnlyList<DecodeRows> requests)
    {
        using var scope = NewDisposeScope();
        var x = embed_tokens.Forward(cat(requests.Select(r => r.Ids.view(-1, 1)).ToList(), 0));
        var (cos, sin) = _rotary.AtRows(requests.SelectMany(r => r.Cache.NextPositions()).ToList(), x.dtype);
        var groups = new List<RowGroup>();
        var start = 0L;
        foreach (var r in requests)
        {
            var mask = r.Cache.IsPadded ? r.Cache.PaddingMask(x.dtype, x.device) : null;
            groups.Add(new RowGroup(start, r.Cache.Batch, r.Cache, mask, Causal: false, r.CrossKv, r.CrossMask));
            start += r.Cache.Batch;
        }
        if (start != x.shape[0])
            throw new ArgumentException($"{x.shape[0]} tokens for {start} cached sequences");
        var hidden = Layers(x, new DecoderContext(cos, sin, groups), trace: null);
        foreach (var r in requests)
            r.Cache.Advance(1);
        return hidden.MoveToOuterDisposeScope();
    }

    private Tensor Layers(Tensor x, DecoderContext context, ForwardTrace? trace)
    {
        foreach (var layer in layers)
        {
            var next = layer.Forward(x, context);
            x.Dispose();
            x = next;
            if (trace is not null)
                trace.Append("text_layer_outputs", x);
        }
        var hidden = norm.Forward(x);
        trace?.Record("text_last_hidden_state", hidden);
        return hidden;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _rotary.Dispose();
        base.Dispose(disposing);
    }
}
