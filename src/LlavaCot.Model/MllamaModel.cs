using LlavaCot.Model.Config;
using LlavaCot.Model.Generation;
using LlavaCot.Model.IO;
using LlavaCot.Model.Layers;
using LlavaCot.Model.Text;
using LlavaCot.Model.Vision;
using static TorchSharp.torch;

namespace LlavaCot.Model;

/// <summary>
/// MllamaForConditionalGeneration (HF transformers 4.45): the vision tower, the projector into the text
/// width, and the language model whose cross-attention layers read the projected image tokens.
/// </summary>
public sealed class MllamaModel : nn.Module
{
    private readonly MllamaVisionModel vision_model;
    private readonly Linear multi_modal_projector;
    private readonly MllamaForCausalLM language_model;

    public MllamaConfig Config { get; }
    /// <summary>The dtype the model computes in.</summary>
    public ScalarType DType { get; }

    /// <summary>The dtype its linear weights and embedding tables are kept in, when not quantized: <see cref="DType"/> or narrower.</summary>
    public ScalarType MatrixDType { get; }
    public Device Device { get; }
    public ModelCounters Counters { get; } = new();

    /// <summary>Checkpoint tensors that no module used (empty for a well-formed checkpoint).</summary>
    public IReadOnlyList<string> UnusedWeights { get; private init; } = [];

    private MllamaModel(MllamaConfig config, IWeightSource weights, ScalarType dtype, Device device) : base(nameof(MllamaModel))
    {
        Config = config;
        DType = dtype;
        MatrixDType = weights.MatrixDType;
        Device = device;
        var w = new WeightScope(weights);
        vision_model = new MllamaVisionModel(w["vision_model"], config.Vision);
        multi_modal_projector = w.Linear("multi_modal_projector", config.Vision.VisionOutputDim, config.Text.HiddenSize, bias: true);
        language_model = new MllamaForCausalLM(w["language_model"], config.Text, device);
        RegisterComponents();
    }

    /// <summary>
    /// Loads config.json and the weights of a model folder (sharded, single file, or <paramref name="weightsFile"/>)
    /// into <paramref name="dtype"/> on <paramref name="device"/>. A tensor whose shape disagrees with the config
    /// is refused, naming the tensor.
    /// </summary>
    /// <param name="quantize">Quantize the text decoder's and projector's linear weights while loading (stored quantized weights load as they are).</param>
    /// <param name="matrixDType">Keep linear weights and embedding tables in this dtype, narrower than <paramref name="dtype"/>.</param>
    public static MllamaModel Load(string dir, Device? device = null, ScalarType dtype = ScalarType.Float32, string? weightsFile = null,
        Action<LoadProgress>? progress = null, Quantization quantize = Quantization.None, ScalarType? matrixDType = null)
    {
        var config = MllamaConfig.Load(dir);
        device ??= CPU;
        using var checkpoint = Checkpoint.Open(dir, weightsFile);
        var weights = new CheckpointWeights(checkpoint, dtype, device, progress, quantize, matrixDType);
        var model = new MllamaModel(config, weights, dtype, device) { UnusedWeights = weights.Unused.ToList() };
        model.eval();
        return model;
    }

    /// <summary>A model with weights from any source, e.g. seeded random weights for benchmarks.</summary>
    public static MllamaModel Create(MllamaConfig config, IWeightSource weights, ScalarType dtype, Device device)
    {
        var model = new MllamaModel(config, weights, dtype, device);
        model.eval();
        return model;
    }

    public int NumTextLayers => Config.Text.NumHiddenLayers;

    /// <summary>
    /// Vision tower and projector: pixel values [B, M, T, C, S, S] → cross-attention states [B, M·T·P, hidden]
    /// (image-major, then tile, then token).
    /// </summary>
    public Tensor EncodeImages(Tensor pixelValues, Tensor aspectRatioIds, Tensor aspectRatioMask, ForwardTrace? trace = null)
    {
        using var scope = NewDisposeScope();
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var vision = vision_model.Forward(pixelValues.to(Device), aspectRatioIds.to(Device), aspectRatioMask.to(Device), trace);
        var projected = multi_modal_projector.Forward(vision);
        Counters.VisionStep(start, finished: true);
        var tokens = Config.Vision.TokensPerTile;
        trace?.Record("cross_attention_states", projected.reshape(-1, tokens, Config.Text.HiddenSize));
        return projected.reshape(pixelValues.shape[0], -1, Config.Text.HiddenSize).MoveToOuterDisposeScope();
    }

    /// <summary>The cross-attention keys and values of every cross layer, computed once per image set.</summary>
    public CrossAttentionCache PrecomputeCrossAttention(Tensor crossStates) =>
        language_model.Model.PrecomputeCrossAttention(crossStates);

    /// <summary>Steps of <see cref="EncodeSteps"/>: the vision encoder's layers, the projector, each cross layer's keys and values.</summary>
    public int EncodeStepCount => vision_model.Layers + 1 + language_model.Model.CrossLayers.Count;

    /// <summary>
    /// The image side of a request (the vision tower, the projector, every cross layer's keys and values) one step at a
    /// time, so that a scheduler can decode other requests' rows between steps: each step is one vision encoder layer,
    /// the projector, or one cross layer's projections, and gives the same bits as the whole pass
    /// (<see cref="EncodeImages"/> then <see cref="PrecomputeCrossAttention"/>). Yields null after each step but the
    /// last, then the keys and values (the caller's). Between steps nothing belongs to a dispose scope; disposing the
    /// enumerator early frees what the pass holds.
    /// </summary>
    public IEnumerable<CrossAttentionCache?> EncodeSteps(Tensor pixelValues, Tensor aspectRatioIds, Tensor aspectRatioMask)
    {
        Tensor? vision = null, states = null;
        var cache = new CrossAttentionCache();
        var done = false;
        try
        {
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            foreach (var step in vision_model.Steps(pixelValues, aspectRatioIds, aspectRatioMask))
            {
                if (step is not null)
                {
                    vision = step;
                    break;
                }
                Counters.VisionStep(start, finished: false);
                yield return null;
                start = System.Diagnostics.Stopwatch.GetTimestamp();
            }
            Counters.VisionStep(start, finished: false);
            yield return null;
            start = System.Diagnostics.Stopwatch.GetTimestamp();
            using (var scope = NewDisposeScope())
                states = multi_modal_projector.Forward(vision!).reshape(pixelValues.shape[0], -1, Config.Text.HiddenSize).DetachFromDisposeScope();
            vision!.Dispose();
            vision = null;
            var crossLayers = language_model.Model.CrossLayers;
            for (var i = 0; i < crossLayers.Count; i++)
            {
                Counters.VisionStep(start, finished: false);
                yield return null;
                start = System.Diagnostics.Stopwatch.GetTimestamp();
                using var scope = NewDisposeScope();
                crossLayers[i].Precompute(states, cache);
            }
            Counters.VisionStep(start, finished: true);
            done = true;
            yield return cache;
        }
        finally
        {
            vision?.Dispose();
            states?.Dispose();
            if (!done)
                cache.Dispose();
        }
    }

    /// <summary>
    /// A prefill pass over ids [B, n] (appended to <paramref name="cache"/> when given). Returns fp32 logits of
    /// every position [B, n, vocab], or of the last one [B, 1, vocab] when <paramref name="allLogits"/> is false.
    /// </summary>
    public Tensor Prefill(Tensor ids, KvCache? cache, CrossAttentionCache? crossKv, CrossAttentionBias? crossMask,
        bool allLogits = false, ForwardTrace? trace = null)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var logits = Logits(ids, cache, crossKv, crossMask, allLogits, trace);
        Counters.Prefilled(ids.shape[0] * ids.shape[1], start);
        return logits;
    }

    /// <summary>
    /// Runs prompt tokens into <paramref name="cache"/> without the output head: a prefill chunk whose logits nobody
    /// reads (the head reads a vocabulary-wide weight for its one row).
    /// </summary>
    public void Fill(Tensor ids, KvCache cache, CrossAttentionCache? crossKv, CrossAttentionBias? crossMask)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        using (NewDisposeScope())
            language_model.Model.Forward(ids.to(Device), cache, crossKv, crossMask, null);
        Counters.Prefilled(ids.shape[0] * ids.shape[1], start);
    }

    /// <summary>The most compact format of its linear weights: int4 when the decoder is int4 (its output head is int8 then).</summary>
    public Quantization Quantization =>
        named_modules().Select(m => m.module).OfType<Linear>().Select(l => l.Format).DefaultIfEmpty(Quantization.None).Max();

    /// <summary>
    /// Measures each text-decoder weight's row padding for batch-invariant decode (<see cref="RowInvariantGemm"/>) now,
    /// on the thread that will decode, so that the first request does not wait for it (a few dozen GEMM calls per
    /// distinct weight shape).
    /// </summary>
    public void PrepareDecode()
    {
        foreach (var (_, module) in language_model.named_modules())
            if (module is Linear linear)
                linear.PrepareDecode(DType);
    }

    /// <summary>One decode step: one new token per sequence, ids [B, 1]; returns logits [B, 1, vocab].</summary>
    public Tensor Decode(Tensor ids, KvCache cache, CrossAttentionCache? crossKv, CrossAttentionBias? crossMask)
    {
        if (ids.shape[1] != 1)
            throw new ArgumentException($"decode takes one token per sequence, got {ids.shape[1]}");
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        using var step = DecodeScope.Enter();
        var logits = Logits(ids, cache, crossKv, crossMask, allLogits: false, trace: null);
        Counters.Decoded(ids.shape[0], start);
        return logits;
    }

    /// <summary>
    /// One decode step over several requests' sequences at once (each with its own cache and image); returns logits
    /// [rows, 1, vocab], the requests' rows in order.
    /// </summary>
    public Tensor Decode(IReadOnlyList<DecodeRows> requests)
    {
        using var scope = NewDisposeScope();
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        using var step = DecodeScope.Enter();
        var hidden = language_model.Model.Decode(requests.Select(r => r with { Ids = r.Ids.to(Device) }).ToList());
        var logits = language_model.Logits(hidden).MoveToOuterDisposeScope();
        Counters.Decoded(requests.Sum(r => r.Cache.Batch), start);
        return logits;
    }

    private Tensor Logits(Tensor ids, KvCache? cache, CrossAttentionCache? crossKv, CrossAttentionBias? crossMask,
        bool allLogits, ForwardTrace? trace)
    {
        using var scope = NewDisposeScope();
        var hidden = language_model.Model.Forward(ids.to(Device), cache, crossKv, crossMask, trace);
        if (!allLogits)
            hidden = hidden.narrow(1, hidden.shape[1] - 1, 1);
        var logits = language_model.Logits(hidden);
        trace?.Record("logits", logits);
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>A self-attention cache sized for this model.</summary>
    public KvCache NewCache(long batch = 1, long capacity = 256) => new(NumTextLayers, batch, capacity);
}
