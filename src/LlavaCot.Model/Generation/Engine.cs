using LlavaCot.Model.Inputs;
using LlavaCot.Model.Text;
using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>A request's image on the engine: its cache key and its leased features.</summary>
public sealed record RequestImage(string Key, ImageFeatures Features);

/// <summary>Sequences decoded from one prompt forked into a row each (a stage's candidates). <paramref name="Pin"/>: the
/// owner whose stage chain this prompt is (the next stage extends it), kept in the prefix cache until unpinned.</summary>
public sealed record ForkRequest(IReadOnlyList<int> Prompt, RequestImage? Image, IReadOnlyList<SequenceSpec> Rows, object? Pin,
    Action<int, string>? OnText, CancellationToken Cancellation);

/// <summary>Different prompts, a row each, stacked right-aligned into one decode job (the judge calls of a knockout wave).</summary>
public sealed record StackRequest(IReadOnlyList<(IReadOnlyList<int> Prompt, SequenceSpec Row)> Rows, RequestImage? Image,
    CancellationToken Cancellation);

/// <summary>
/// The work of one model that requests share, run as sliced work on the model thread: image encodings a step at a time
/// through the shared image-feature cache, prompts prefilled in chunks through the shared prefix cache, forked and stacked
/// decode jobs, scoring, and the cross-attention rows of every prompt. Requests come as data; what each slice runs is
/// booked to the request's <see cref="WorkCost"/>.
/// </summary>
public sealed class Engine(MllamaModel model, ImageFeatureCache images, PrefixCache prefixes, ModelInputsBuilder inputs)
{
    public MllamaModel Model => model;
    public ImageFeatureCache Images => images;
    public PrefixCache Prefixes => prefixes;

    /// <summary>Prompt tokens per prefill chunk (0: whole prompts, and each image encoded in one step).</summary>
    public int ChunkTokens { get; set; }

    /// <summary>The features of a cached image, leased (counted as a hit), or null.</summary>
    public ImageFeatureCache.Lease? TryCachedImage(string key, WorkCost cost)
    {
        var lease = images.TryRent(key);
        if (lease is not null)
            cost.ImageHit();
        return lease;
    }

    /// <summary>
    /// Encodes processed images a step at a time (whole when chunks are 0) and keeps the features in the shared cache;
    /// gives the lease to <paramref name="done"/>. A request for the same picture that finished meanwhile is a hit.
    /// </summary>
    public IEnumerable<int> Encode(ImageBatch batch, string key, WorkCost cost, Action<ImageFeatureCache.Lease> done)
    {
        if (TryCachedImage(key, cost) is { } cached)
        {
            done(cached);
            yield break;
        }
        CrossAttentionCache? kv = null;
        var whole = ChunkTokens == 0;
        foreach (var step in cost.Booked(model.EncodeSteps(batch.PixelValues, batch.AspectRatioIds, batch.AspectRatioMask)))
        {
            if (step is not null)
                kv = step;
            else if (!whole)
                yield return 0;
        }
        var tiles = batch.Images[0].Select(t => t.NumTiles).ToList();
        done(images.Add(key, new ImageFeatures(kv!, tiles), out var evicted));
        cost.ImageMiss(evicted);
    }

    /// <summary>Ends a request's hold on the engine: unpins its stage chain from the prefix cache and returns its image lease.</summary>
    public void Close(object pin, ImageFeatureCache.Lease? lease)
    {
        prefixes.Unpin(pin);
        lease?.Dispose();
    }

    /// <summary>
    /// The prompt's chunks, then its decode job (forked from the prompt's cache) to <paramref name="start"/>; the job books
    /// the tokens it feeds to <paramref name="cost"/>.
    /// </summary>
    public IEnumerable<int> Fork(ForkRequest r, WorkCost cost, Action<DecodeJob> start)
    {
        KvCache? cache = null;
        var prefill = new PrefillResult();
        foreach (var n in cost.Booked(Pooled(r.Prompt, r.Image, r.Pin, prefill, c => cache = c, cost)))
            yield return n;
        var fork = cache!.Fork(r.Rows.Count, Reserve(r.Rows.Max(x => x.Stop.MaxNewTokens)));
        IDisposable[] owned = prefill.Continuation is null ? [fork] : [fork, prefill.Continuation];
        start(new DecodeJob(model, fork, prefill.Logits!, r.Image?.Features.Kv, prefill.Continuation, r.Rows, inputs.Tokenizer, r.OnText,
            owned: owned, cancellation: r.Cancellation, cost: cost));
    }

    /// <summary>Each prompt's chunks (reusing cached prefixes), then one job of all rows stacked to <paramref name="start"/>.</summary>
    public IEnumerable<int> Stack(StackRequest r, WorkCost cost, Action<DecodeJob> start)
    {
        var copies = new List<KvCache>();
        var firstLogits = new List<Tensor>();
        CrossAttentionBias? continuation = null;
        var started = false;
        try
        {
            foreach (var (prompt, _) in r.Rows)
            {
                KvCache? cache = null;
                var prefill = new PrefillResult();
                foreach (var n in cost.Booked(Pooled(prompt, r.Image, null, prefill, c => cache = c, cost)))
                    yield return n;
                firstLogits.Add(prefill.Logits!.DetachFromDisposeScope());
                // A copy: the pool may reuse or evict its cache for the next prompt.
                copies.Add(cache!.Fork(1, 0));
                // Every image prompt's following tokens see the whole image: one row serves all.
                if (continuation is null)
                    continuation = prefill.Continuation;
                else
                    prefill.Continuation?.Dispose();
            }
            var stacked = KvCache.Stack(copies, Reserve(r.Rows.Max(x => x.Row.Stop.MaxNewTokens)));
            IDisposable[] owned = continuation is null ? [stacked] : [stacked, continuation];
            start(new DecodeJob(model, stacked, cat(firstLogits), r.Image?.Features.Kv, continuation, r.Rows.Select(x => x.Row).ToList(),
                inputs.Tokenizer, owned: owned, cancellation: r.Cancellation, cost: cost));
            started = true;
        }
        finally
        {
            copies.ForEach(c => c.Dispose());
            firstLogits.ForEach(l => l.Dispose());
            if (!started)
                continuation?.Dispose();
        }
    }

    /// <summary>
    /// Each scoring prompt in two parts whatever else is scored: its instruction (through the prefix cache, where the
    /// other candidates of its stage find it whole), then on a copy the candidate and the reply header. Its scores thus
    /// never depend on the prompts beside it. Adds each prompt's token log-probabilities to <paramref name="results"/>.
    /// </summary>
    public IEnumerable<int> Score(IReadOnlyList<ScoreSpec> specs, RequestImage? image, WorkCost cost,
        List<IReadOnlyList<IReadOnlyList<double>>> results)
    {
        foreach (var spec in specs)
        {
            var seen = spec.WithImage ? image : null;
            KvCache? shared = null;
            var instruction = new PrefillResult();
            foreach (var n in cost.Booked(Pooled(spec.Prompt.Take(spec.Shared).ToList(), seen, null, instruction, c => shared = c, cost, logits: false)))
                yield return n;
            instruction.Continuation?.Dispose();
            var copy = shared!.Fork(1, spec.Prompt.Count - spec.Shared + spec.Continuations.Max(c => c.Count));
            try
            {
                var tail = new PrefillResult();
                foreach (var n in cost.Booked(ChunkedPrefill.Run(model, spec.Prompt, spec.Shared, copy, seen?.Features.Kv, Rows(spec.Prompt, seen),
                             ChunkTokens, tail)))
                    yield return n;
                tail.Continuation?.Dispose();
                results.Add(cost.Booked(() => TokenScoring.Continue(model, copy, tail.Logits!, seen?.Features.Kv,
                    c => seen is null ? null : Bias([.. spec.Prompt, .. c.Take(c.Count - 1)], spec.Prompt.Count, seen), spec.Continuations)));
            }
            finally
            {
                copy.Dispose();
            }
        }
    }

    /// <summary>
    /// Prefills <paramref name="ids"/> in chunks into a cache of the shared prefix cache, reusing its longest cached
    /// prefix; leaves the last position's logits and the following tokens' cross-attention row in <paramref name="result"/>
    /// and gives the cache (the prefix cache's: copy or fork it in the same slice) to <paramref name="done"/>. Without
    /// <paramref name="logits"/> a prefix cached whole is not run again (the result stays empty).
    /// </summary>
    private IEnumerable<int> Pooled(IReadOnlyList<int> ids, RequestImage? image, object? pin, PrefillResult result, Action<KvCache> done,
        WorkCost cost, bool logits = true)
    {
        var (cache, reused, evicted) = prefixes.Acquire(image?.Key ?? "", ids, pin, logits);
        try
        {
            foreach (var n in ChunkedPrefill.Run(model, ids, reused, cache, image?.Features.Kv, Rows(ids, image), ChunkTokens, result, logits))
                yield return n;
            cost.Prefix(reused, evicted + prefixes.Commit(cache, ids));
            done(cache);
        }
        finally
        {
            prefixes.Release(cache);
        }
    }

    /// <summary>Decode room reserved up front; the cache grows past it if a long generation needs more.</summary>
    private static long Reserve(int maxNewTokens) => Math.Min(maxNewTokens, 256);

    /// <summary>The cross-attention rows of a prompt's positions [start, end) (null without an image).</summary>
    private Func<int, int, CrossAttentionBias?> Rows(IReadOnlyList<int> ids, RequestImage? image) =>
        (start, end) => image is null ? null : Bias(ids.Take(end).ToList(), start, image);

    /// <summary>The cross-attention rows of positions from..end of a sequence, from its image token positions.</summary>
    private CrossAttentionBias Bias(IReadOnlyList<int> ids, int from, RequestImage image)
    {
        using var scope = NewDisposeScope();
        var dense = inputs.DenseMask(ids, image.Features.NumTiles);
        return CrossAttentionBias.FromDense(dense.narrow(1, from, ids.Count - from), model.Config.Vision.TokensPerTile, model.DType, model.Device);
    }
}
