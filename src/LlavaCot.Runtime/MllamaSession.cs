using LlavaCot.Model;
using LlavaCot.Model.Generation;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.Text;
using LlavaCot.Reasoning;
using static TorchSharp.torch;

namespace LlavaCot.Runtime;

/// <summary>
/// One request on the model. The image goes through the vision tower and the cross-attention projections once (a
/// layer per scheduler step), or not at all when the shared image cache holds it from an earlier request; prompts reuse
/// cached prefixes and prefill in chunks between other requests' decode steps, and the N candidates of a call decode as
/// one batch from a forked cache. All tensor work runs on the model worker.
/// </summary>
internal sealed class MllamaSession : IGenerationSession
{
    private static readonly string[] JudgeNoise = ["<|eot_id|>", "<|endoftext|>"];

    private readonly MllamaGenerator _owner;
    private readonly bool _hasImage;
    private readonly IReadOnlyList<int> _numTiles;
    private readonly DateOnly _date;
    private ImageFeatureCache.Lease? _imageLease;
    private readonly string? _imageKey;
    private int _disposed;
    private long _visionPasses, _prefilledTokens, _decodedTokens, _prefixHits, _prefixMisses, _prefixEvictions;
    private int _imageCacheHits, _imageCacheMisses, _imageCacheEvictions;

    public IReadOnlyList<int> PromptIds { get; }

    public SessionInfo Info { get; }

    public ModelCost Cost => new(Interlocked.Read(ref _visionPasses), Interlocked.Read(ref _prefilledTokens), Interlocked.Read(ref _decodedTokens),
        _imageCacheHits, _imageCacheMisses, _imageCacheEvictions,
        Interlocked.Read(ref _prefixHits), Interlocked.Read(ref _prefixMisses), Interlocked.Read(ref _prefixEvictions));

    /// <summary>The image's cross-attention keys and values, shared with other requests on the same image.</summary>
    private CrossAttentionCache? ImageKv => _imageLease?.Features.Kv;

    private MllamaGenerator Owner => _owner;
    private MllamaModel Model => _owner.Model;
    private ITokenizer Tokenizer => _owner.Inputs.Tokenizer;

    /// <summary>Prompt tokens per prefill chunk (0: whole prompts, and the image encoded in one step).</summary>
    private int Chunk => _owner.PrefillChunkTokens;

    private MllamaSession(MllamaGenerator owner, ImageBatch? images, string? imageKey, IReadOnlyList<int> promptIds, DateOnly date)
    {
        _owner = owner;
        _date = date;
        _imageKey = imageKey;
        _hasImage = images is not null;
        _numTiles = images is null ? [] : TilesOf(images);
        PromptIds = promptIds;
        Info = new SessionInfo(date, DTypeChoice.Describe(owner.Model.DType, owner.Model.MatrixDType), owner.Model.Device.ToString(), owner.CpuFeatures);
    }

    /// <summary>
    /// Tokenises the prompt and processes the image off the model thread, then takes the image's features from the
    /// shared cache, or encodes them in the vision lane, a layer per step.
    /// </summary>
    /// <param name="imageKey">The image's content key (<see cref="ImageFeatureCache.Key"/>); given with an image.</param>
    /// <param name="date">The date every text-only prompt of this request carries, fixed once so all agree.</param>
    internal static async Task<MllamaSession> OpenAsync(MllamaGenerator owner, RgbImage? image, string? imageKey,
        IReadOnlyList<PromptSegment> prompt, DateOnly date, CancellationToken ct)
    {
        var ids = owner.Inputs.Tokenizer.Encode(prompt);
        // Made on this thread and freed on it once the model thread no longer reads it.
        using var images = image is null ? null : owner.Inputs.Images.Process(image);
        var session = new MllamaSession(owner, images, imageKey, ids, date);
        try
        {
            if (images is not null)
            {
                ArgumentNullException.ThrowIfNull(imageKey);
                if (!await owner.Worker.RunAsync(session.TryCachedImage, ct))
                    await owner.Worker.RunSlicedAsync(Lane.Vision, session.Booked(session.Encoding(images)), () => true, ct);
            }
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>Leases the image's features if the shared cache holds them (on the worker).</summary>
    private bool TryCachedImage()
    {
        _imageLease = Owner.ImageCache.TryRent(_imageKey!);
        _imageCacheHits = _imageLease is null ? 0 : 1;
        return _imageLease is not null;
    }

    /// <summary>A cache miss: the image encoded a step at a time, then kept in the shared cache.</summary>
    private IEnumerable<int> Encoding(ImageBatch images)
    {
        // Another request may have encoded the same picture while this one waited.
        if (TryCachedImage())
            yield break;
        CrossAttentionCache? kv = null;
        var whole = Chunk == 0;
        foreach (var step in Model.EncodeSteps(images.PixelValues, images.AspectRatioIds, images.AspectRatioMask))
        {
            if (step is not null)
                kv = step;
            else if (!whole)
                yield return 0;
        }
        _imageLease = Owner.ImageCache.Add(_imageKey!, new ImageFeatures(kv!, _numTiles), out var evicted);
        (_imageCacheMisses, _imageCacheEvictions) = (1, evicted);
    }

    public async Task<IReadOnlyList<Candidate>> SampleAsync(SampleRequest request, Action<int, string>? onDelta, CancellationToken ct)
    {
        var promptText = Tokenizer.Decode(request.Prefix, skipSpecialTokens: true);
        var rows = request.Seeds.Select(seed => Owner.Spec(request.Stop, request.Sampling, seed, promptText, skipSpecialTokens: true,
            request.TopLogProbs)).ToList();
        var sequences = await GenerateAsync(request.Prefix, _hasImage, rows, onDelta, chain: true, ct);
        // The earlier stages' text once per call; each candidate's own text is what the engine released while decoding it.
        var before = Tokenizer.Decode(request.Prefix.Skip(PromptIds.Count), skipSpecialTokens: true);
        return sequences.Select(s => new Candidate(request.Prefix.Concat(s.NewIds).ToList(), before + s.Text, s.Text!, s.NewIds.Count,
            s.Reason) { LogProbs = LogProbs(s.LogProbs) }).ToList();
    }

    public async Task<Completion> CompleteAsync(CompletionRequest request, Action<string>? onDelta, CancellationToken ct)
    {
        var withImage = UsesImage(request);
        var ids = Tokenizer.Encode(Prompt(request.UserText, withImage));
        var generated = await GenerateAsync(ids, withImage, [Spec(request, ids)], onDelta is null ? null : (_, d) => onDelta(d), chain: false, ct);
        return ToCompletion(request, generated[0]);
    }

    /// <summary>Several prompts answer as one decode batch (judge calls of a knockout wave).</summary>
    public bool BatchesCompletions => true;

    public async Task<IReadOnlyList<Completion>> CompleteManyAsync(IReadOnlyList<CompletionRequest> requests, CancellationToken ct)
    {
        if (requests.Count < 2)
            return await IGenerationSession.OneByOneAsync(this, requests, ct);
        // Rows of one job share the image or its absence; the two jobs then run side by side.
        var groups = Enumerable.Range(0, requests.Count).GroupBy(i => UsesImage(requests[i])).Select(g => g.ToList()).ToList();
        var generated = await Task.WhenAll(groups.Select(rows => DecodeStackedAsync(rows.Select(i => requests[i]).ToList(), UsesImage(requests[rows[0]]), ct)));
        var results = new Completion[requests.Count];
        for (var g = 0; g < groups.Count; g++)
            for (var k = 0; k < groups[g].Count; k++)
                results[groups[g][k]] = ToCompletion(requests[groups[g][k]], generated[g][k]);
        return results;
    }

    /// <summary>
    /// Scores every request's continuations without decoding, in the prompt lane (a chunk per step): each prompt is
    /// prefilled on its own, reusing cached prefixes.
    /// </summary>
    public Task<IReadOnlyList<ScoreResult>> ScoreAsync(IReadOnlyList<ScoreRequest> requests, CancellationToken ct)
    {
        var specs = requests.Select(r =>
        {
            var withImage = r.WithImage && _hasImage;
            var prompt = Tokenizer.Encode(Prompt(r.UserText, withImage));
            // The instruction's tokens: as far as the prompt without the candidate agrees (a word may join across).
            var shared = Math.Clamp(PrefixCache.CommonPrefix(Tokenizer.Encode(Prompt(r.Instruction, withImage)), prompt), 1, prompt.Count - 1);
            return new ScoreSpec(prompt, shared, r.Continuations.Select(Tokenizer.EncodeUser).ToList(), withImage);
        }).ToList();
        var results = new List<ScoreResult>();
        return Owner.Worker.RunSlicedAsync<IReadOnlyList<ScoreResult>>(Lane.Prompt, Booked(Scoring(specs, results)), () => results, ct);
    }

    private static int Tokens(ScoreSpec s) => s.Prompt.Count + s.Continuations.Sum(c => c.Count);

    /// <summary>
    /// Each scoring prompt in two parts whatever else is scored: its instruction (through the prefix cache, where the
    /// other candidates of its stage find it whole), then on a copy the candidate and the reply header. Its scores thus
    /// never depend on the prompts beside it.
    /// </summary>
    private IEnumerable<int> Scoring(IReadOnlyList<ScoreSpec> specs, List<ScoreResult> results)
    {
        foreach (var spec in specs)
        {
            KvCache? shared = null;
            foreach (var n in PrefilledWhole(spec.Prompt.Take(spec.Shared).ToList(), spec.WithImage, c => shared = c))
                yield return n;
            var kv = spec.WithImage ? ImageKv : null;
            var copy = shared!.Fork(1, spec.Prompt.Count - spec.Shared + spec.Continuations.Max(c => c.Count));
            try
            {
                var tail = new PrefillResult();
                foreach (var n in ChunkedPrefill.Run(Model, spec.Prompt, spec.Shared, copy, kv, Rows(spec.Prompt, spec.WithImage), Chunk, tail))
                    yield return n;
                tail.Continuation?.Dispose();
                var scores = TokenScoring.Continue(Model, copy, tail.Logits!, kv,
                    c => spec.WithImage ? Bias([.. spec.Prompt, .. c.Take(c.Count - 1)], spec.Prompt.Count) : null, spec.Continuations);
                results.Add(new ScoreResult(scores, Tokens(spec)));
            }
            finally
            {
                copy.Dispose();
            }
        }
    }

    /// <summary>
    /// A decode job beside the other requests' jobs, after its prompt's chunks. <paramref name="chain"/>: the prefix is
    /// the search's stage chain, which the next stage extends (pinned).
    /// </summary>
    private async Task<IReadOnlyList<GeneratedSequence>> GenerateAsync(IReadOnlyList<int> prefix, bool withImage, IReadOnlyList<SequenceSpec> rows,
        Action<int, string>? onDelta, bool chain, CancellationToken ct)
    {
        DecodeJob? job = null;
        IEnumerable<int> Prefill()
        {
            KvCache? cache = null;
            var prefill = new PrefillResult();
            foreach (var n in PrefillPooled(prefix, withImage, chain, prefill, c => cache = c))
                yield return n;
            var fork = cache!.Fork(rows.Count, Reserve(rows.Max(r => r.Stop.MaxNewTokens)));
            IDisposable[] owned = prefill.Continuation is null ? [fork] : [fork, prefill.Continuation];
            job = new DecodeJob(Model, fork, prefill.Logits!, withImage ? ImageKv : null, prefill.Continuation, rows, Tokenizer, onDelta,
                owned: owned, cancellation: ct);
        }
        return await DecodeBookedAsync(Prefill(), () => job!, ct);
    }

    /// <summary>
    /// Runs <paramref name="prefill"/> a chunk per step in the prompt lane (booked to this session), then the decode
    /// job <paramref name="start"/> builds beside the other requests' jobs, and books the tokens it decoded.
    /// </summary>
    private async Task<IReadOnlyList<GeneratedSequence>> DecodeBookedAsync(IEnumerable<int> prefill, Func<DecodeJob> start, CancellationToken ct)
    {
        DecodeJob? job = null;
        try
        {
            return await Owner.Worker.DecodeAsync(Booked(prefill), () => job = start(), ct);
        }
        finally
        {
            if (job is not null)
                Interlocked.Add(ref _decodedTokens, job.Fed);
        }
    }

    /// <summary>Sliced work, each slice booked to this session as it runs (a slice runs alone on the worker).</summary>
    private IEnumerable<int> Booked(IEnumerable<int> slices)
    {
        using var e = slices.GetEnumerator();
        while (true)
        {
            var before = Counted();
            bool more;
            try
            {
                more = e.MoveNext();
            }
            finally
            {
                Book(before);
            }
            if (!more)
                yield break;
            yield return e.Current;
        }
    }

    private (long Vision, long Prefilled, long Decoded) Counted() =>
        (Model.Counters.VisionRuns, Model.Counters.PrefilledTokens, Model.Counters.DecodedTokens);

    private void Book((long Vision, long Prefilled, long Decoded) before)
    {
        var now = Counted();
        Interlocked.Add(ref _visionPasses, now.Vision - before.Vision);
        Interlocked.Add(ref _prefilledTokens, now.Prefilled - before.Prefilled);
        Interlocked.Add(ref _decodedTokens, now.Decoded - before.Decoded);
    }

    /// <summary>A completion asked with the image gets it only if the session has one (else the text-only template).</summary>
    private bool UsesImage(CompletionRequest r) => r.WithImage && _hasImage;

    /// <summary>How a completion's one sequence is drawn and stopped; the stop rule also searches its prompt.</summary>
    private SequenceSpec Spec(CompletionRequest r, IReadOnlyList<int> promptIds) =>
        Owner.Spec(r.Stop, r.Sampling, r.Seed, Tokenizer.Decode(promptIds, skipSpecialTokens: true), !r.KeepSpecialTokens, r.TopLogProbs);

    private Completion ToCompletion(CompletionRequest request, GeneratedSequence generated)
    {
        var text = generated.Text!;
        if (request.KeepSpecialTokens)
            text = JudgeNoise.Aggregate(text, (t, noise) => t.Replace(noise, "", StringComparison.Ordinal));
        return new Completion(text, generated.NewIds.Count, generated.Reason) { LogProbs = LogProbs(generated.LogProbs) };
    }

    /// <summary>
    /// The engine's log-probabilities in the port's terms: each token decoded on its own (a piece of a UTF-8 character
    /// shows as U+FFFD, no clean-up of spaces) with its own bytes, as OpenAI reports them.
    /// </summary>
    private IReadOnlyList<TokenLogProb>? LogProbs(IReadOnlyList<SampledLogProbs>? steps) =>
        steps?.Select(s => new TokenLogProb(s.Token, TokenText(s.Token), s.LogProb, Tokenizer.TokenBytes(s.Token).ToArray(),
            s.TopIds.Select((id, k) => new TopLogProb(id, TokenText(id), s.TopLogProbs[k], Tokenizer.TokenBytes(id).ToArray())).ToList())).ToList();

    private string TokenText(int id) => Tokenizer.Decode([id], skipSpecialTokens: false, cleanUpTokenizationSpaces: false);

    /// <summary>Different prompts, each prefilled on its own (reusing cached prefixes, a chunk per step), stacked right-aligned into one job.</summary>
    private Task<IReadOnlyList<GeneratedSequence>> DecodeStackedAsync(IReadOnlyList<CompletionRequest> requests, bool withImage, CancellationToken ct)
    {
        DecodeJob? job = null;
        IEnumerable<int> Prefills()
        {
            var copies = new List<KvCache>();
            var firstLogits = new List<Tensor>();
            var rows = new List<SequenceSpec>();
            CrossAttentionBias? continuation = null;
            try
            {
                foreach (var request in requests)
                {
                    var ids = Tokenizer.Encode(Prompt(request.UserText, withImage));
                    KvCache? cache = null;
                    var prefill = new PrefillResult();
                    foreach (var n in PrefillPooled(ids, withImage, pin: false, prefill, c => cache = c))
                        yield return n;
                    firstLogits.Add(prefill.Logits!.DetachFromDisposeScope());
                    // A copy: the pool may reuse or evict its cache for the next prompt.
                    copies.Add(cache!.Fork(1, 0));
                    // Every image prompt's following tokens see the whole image: one row serves all.
                    if (continuation is null)
                        continuation = prefill.Continuation;
                    else
                        prefill.Continuation?.Dispose();
                    rows.Add(Spec(request, ids));
                }
                var stacked = KvCache.Stack(copies, Reserve(requests.Max(r => r.Stop.MaxNewTokens)));
                IDisposable[] owned = continuation is null ? [stacked] : [stacked, continuation];
                job = new DecodeJob(Model, stacked, cat(firstLogits), withImage ? ImageKv : null, continuation, rows, Tokenizer,
                    owned: owned, cancellation: ct);
            }
            finally
            {
                copies.ForEach(c => c.Dispose());
                firstLogits.ForEach(l => l.Dispose());
                if (job is null)
                    continuation?.Dispose();
            }
        }
        return DecodeBookedAsync(Prefills(), () => job!, ct);
    }

    /// <summary>
    /// Prefills <paramref name="ids"/> in chunks into a cache of the shared prefix cache, reusing its longest cached
    /// prefix. Leaves the last position's logits and the cross-attention row of the tokens that will follow in
    /// <paramref name="result"/>, and gives the cache (the prefix cache's: copy or fork it in the same slice) to
    /// <paramref name="done"/>. <paramref name="pin"/>: these ids are this search's stage chain, which the next stage extends.
    /// </summary>
    private IEnumerable<int> PrefillPooled(IReadOnlyList<int> ids, bool withImage, bool pin, PrefillResult result, Action<KvCache> done)
    {
        var prefixes = Owner.PrefixCache;
        var (cache, reused, evicted) = prefixes.Acquire(withImage ? _imageKey! : "", ids, pin ? this : null);
        try
        {
            foreach (var n in ChunkedPrefill.Run(Model, ids, reused, cache, withImage ? ImageKv : null, Rows(ids, withImage), Chunk, result))
                yield return n;
            BookPrefix(reused, evicted + prefixes.Commit(cache, ids));
            done(cache);
        }
        finally
        {
            prefixes.Release(cache);
        }
    }

    /// <summary>
    /// A cache of the shared prefix cache holding all of <paramref name="ids"/>, prefilling (in chunks) only what no
    /// cached sequence holds (no logits are needed, so a prefix cached whole is not run again); given to
    /// <paramref name="done"/>, to copy in the same slice.
    /// </summary>
    private IEnumerable<int> PrefilledWhole(IReadOnlyList<int> ids, bool withImage, Action<KvCache> done)
    {
        var prefixes = Owner.PrefixCache;
        var (cache, reused, evicted) = prefixes.Acquire(withImage ? _imageKey! : "", ids, logits: false);
        try
        {
            var ignored = new PrefillResult();
            foreach (var n in ChunkedPrefill.Run(Model, ids, reused, cache, withImage ? ImageKv : null, Rows(ids, withImage), Chunk, ignored))
                yield return n;
            ignored.Continuation?.Dispose();
            BookPrefix(reused, evicted + prefixes.Commit(cache, ids));
            done(cache);
        }
        finally
        {
            prefixes.Release(cache);
        }
    }

    /// <summary>The cross-attention rows of a prompt's positions [start, end) (null without the image).</summary>
    private Func<int, int, CrossAttentionBias?> Rows(IReadOnlyList<int> ids, bool withImage) =>
        (start, end) => withImage ? Bias(ids.Take(end).ToList(), start) : null;

    private void BookPrefix(int reused, int evicted)
    {
        Interlocked.Increment(ref reused > 0 ? ref _prefixHits : ref _prefixMisses);
        Interlocked.Add(ref _prefixEvictions, evicted);
    }

    /// <summary>Decode room reserved up front; the cache grows past it if a long generation needs more.</summary>
    private static long Reserve(int maxNewTokens) => Math.Min(maxNewTokens, 256);

    private static IReadOnlyList<int> TilesOf(ImageBatch images) => images.Images[0].Select(t => t.NumTiles).ToList();

    /// <summary>The cross-attention rows of positions from..end of a sequence, from its image token positions.</summary>
    private CrossAttentionBias Bias(IReadOnlyList<int> ids, int from)
    {
        using var scope = NewDisposeScope();
        var dense = Owner.Inputs.DenseMask(ids, _numTiles);
        return CrossAttentionBias.FromDense(dense.narrow(1, from, ids.Count - from), Model.Config.Vision.TokensPerTile,
            Model.DType, Model.Device);
    }

    private IReadOnlyList<PromptSegment> Prompt(string text, bool withImage) => Owner.Inputs.Prompt(text, withImage, _date);

    /// <summary>Frees the session's tensors on the model thread; twice is harmless. Once the worker is gone the model
    /// and its process are going too, and tensors are never freed from another thread: they are left as they are.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        try
        {
            await Owner.Worker.RunAsync(DisposeTensors);
        }
        catch (ObjectDisposedException)
        {
            // The worker stopped before this session was closed.
        }
    }

    private void DisposeTensors()
    {
        Owner.Worker.ThrowIfNotCurrent();
        Owner.PrefixCache.Unpin(this);
        _imageLease?.Dispose();
        _imageLease = null;
    }
}
