using LlavaCot.Model;
using LlavaCot.Model.Generation;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.Text;
using LlavaCot.Reasoning;
using static TorchSharp.torch;

namespace LlavaCot.Runtime;

/// <summary>
/// One request on the model. Optimised: the image goes through the vision tower and the cross-attention
/// projections once, or not at all when the shared image cache holds it from an earlier request; prompts reuse cached prefixes and the N candidates of a call decode as one batch from a forked
/// cache. Naive: every candidate and judge call re-encodes the image and re-prefills its whole prompt, one at a time,
/// like the reference. Both produce the same tokens for the same seeds. All tensor work runs on the model worker.
/// </summary>
internal sealed class MllamaSession : IGenerationSession
{
    private static readonly string[] JudgeNoise = ["<|eot_id|>", "<|endoftext|>"];

    private readonly MllamaGenerator _owner;
    private readonly ImageBatch? _images;
    private readonly bool _hasImage;
    private readonly IReadOnlyList<int> _numTiles;
    private readonly bool _naive;
    private readonly DateOnly _date;
    private ImageFeatureCache.Lease? _imageLease;
    private readonly string? _imageKey;
    private int _disposed;
    private long _visionPasses, _prefilledTokens, _decodedTokens, _prefixHits, _prefixMisses, _prefixEvictions;
    private readonly int _imageCacheHits, _imageCacheMisses, _imageCacheEvictions;

    public IReadOnlyList<int> PromptIds { get; }

    public SessionInfo Info { get; }

    public ModelCost Cost => new(Interlocked.Read(ref _visionPasses), Interlocked.Read(ref _prefilledTokens), Interlocked.Read(ref _decodedTokens),
        _imageCacheHits, _imageCacheMisses, _imageCacheEvictions,
        Interlocked.Read(ref _prefixHits), Interlocked.Read(ref _prefixMisses), Interlocked.Read(ref _prefixEvictions));

    /// <summary>The image's cross-attention keys and values (optimised mode), shared with other requests on the same image.</summary>
    private CrossAttentionCache? ImageKv => _imageLease?.Features.Kv;

    private MllamaGenerator Owner => _owner;
    private MllamaModel Model => _owner.Model;
    private ITokenizer Tokenizer => _owner.Inputs.Tokenizer;

    /// <summary>
    /// Runs on the worker: renders the prompt; naive mode processes the image for its calls, optimised mode takes the
    /// image's features from the shared cache (encoding them on a miss).
    /// </summary>
    /// <param name="imageKey">The image's content key (<see cref="ImageFeatureCache.Key"/>); given with an image in optimised mode.</param>
    /// <param name="date">The date every text-only prompt of this request carries, fixed once so all agree.</param>
    internal MllamaSession(MllamaGenerator owner, RgbImage? image, string? imageKey, IReadOnlyList<PromptSegment> prompt, bool naive, DateOnly date)
    {
        _owner = owner;
        var before = Counted();
        _naive = naive;
        _date = date;
        _imageKey = imageKey;
        _hasImage = image is not null;
        Info = new SessionInfo(date, DTypeChoice.Describe(owner.Model.DType, owner.Model.MatrixDType), owner.Model.Device.ToString(), owner.CpuFeatures);
        try
        {
            if (image is null)
                _numTiles = [];
            else if (naive)
            {
                _images = owner.Inputs.Images.Process(image);
                _numTiles = TilesOf(_images);
            }
            else
            {
                ArgumentNullException.ThrowIfNull(imageKey);
                _imageLease = owner.ImageCache.Rent(imageKey, () => Encode(image), out var hit, out var evicted);
                _numTiles = _imageLease.Features.NumTiles;
                (_imageCacheHits, _imageCacheMisses, _imageCacheEvictions) = (hit ? 1 : 0, hit ? 0 : 1, evicted);
            }
            PromptIds = Tokenizer.Encode(prompt);
            Book(before);
        }
        catch
        {
            DisposeTensors();
            throw;
        }
    }

    public async Task<IReadOnlyList<Candidate>> SampleAsync(SampleRequest request, Action<int, string>? onDelta, CancellationToken ct)
    {
        var promptText = Tokenizer.Decode(request.Prefix, skipSpecialTokens: true);
        var rows = request.Seeds.Select(seed => Owner.Spec(request.Stop, request.Sampling, seed, promptText, skipSpecialTokens: true,
            request.TopLogProbs)).ToList();
        var sequences = await GenerateAsync(request.Prefix, _hasImage, rows, onDelta, chain: true, ct);
        var before = Tokenizer.Decode(request.Prefix.Skip(PromptIds.Count), skipSpecialTokens: true);
        return sequences.Select(s =>
        {
            var ids = request.Prefix.Concat(s.NewIds).ToList();
            var text = Tokenizer.Decode(ids.Skip(PromptIds.Count), skipSpecialTokens: true);
            var newText = text.StartsWith(before, StringComparison.Ordinal)
                ? text[before.Length..]
                : Tokenizer.Decode(s.NewIds, skipSpecialTokens: true);
            return new Candidate(ids, text, newText, s.NewIds.Count, MllamaGenerator.ToStopReason(s.Reason)) { LogProbs = LogProbs(s.LogProbs) };
        }).ToList();
    }

    public async Task<Completion> CompleteAsync(CompletionRequest request, Action<string>? onDelta, CancellationToken ct)
    {
        var withImage = UsesImage(request);
        var ids = Tokenizer.Encode(Prompt(request.UserText, withImage));
        var generated = await GenerateAsync(ids, withImage, [Spec(request, ids)], onDelta is null ? null : (_, d) => onDelta(d), chain: false, ct);
        return ToCompletion(request, generated[0]);
    }

    /// <summary>Optimised sessions answer several prompts as one decode batch (judge calls of a knockout wave).</summary>
    public bool BatchesCompletions => !_naive;

    public async Task<IReadOnlyList<Completion>> CompleteManyAsync(IReadOnlyList<CompletionRequest> requests, CancellationToken ct)
    {
        if (_naive || requests.Count < 2)
            return await IGenerationSession.OneByOneAsync(this, requests, ct);
        // Rows of one job share the image or its absence; the two jobs then run side by side.
        var groups = Enumerable.Range(0, requests.Count).GroupBy(i => UsesImage(requests[i])).Select(g => g.ToList()).ToList();
        var generated = await Task.WhenAll(groups.Select(rows =>
            DecodeBookedAsync(() => StartStacked(rows.Select(i => requests[i]).ToList(), UsesImage(requests[rows[0]]), ct), ct)));
        var results = new Completion[requests.Count];
        for (var g = 0; g < groups.Count; g++)
            for (var k = 0; k < groups[g].Count; k++)
                results[groups[g][k]] = ToCompletion(requests[groups[g][k]], generated[g][k]);
        return results;
    }

    /// <summary>
    /// Scores every request's continuations in one work item on the model worker (between decode steps): each prompt is
    /// prefilled on its own, reusing cached prefixes, and nothing is decoded.
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
        return Owner.Worker.RunAsync(Booked<IReadOnlyList<ScoreResult>>(() => specs.Select(s =>
        {
            ct.ThrowIfCancellationRequested();
            return new ScoreResult(Score(s), s.Prompt.Count + s.Continuations.Sum(c => c.Count));
        }).ToList()), ct);
    }

    /// <summary>
    /// One scoring prompt, in two chunks whatever else is scored: its instruction (through the prefix cache, where the
    /// other candidates of its stage find it whole), then on a copy the candidate and the reply header. Its scores thus
    /// never depend on the prompts beside it. Naive (the reference pattern), the same chunks from nothing, with the image
    /// encoded again.
    /// </summary>
    private IReadOnlyList<IReadOnlyList<double>> Score(ScoreSpec spec)
    {
        using var scope = NewDisposeScope();
        var instruction = spec.Prompt.Take(spec.Shared).ToList();
        using var encoded = spec.WithImage && _naive ? Encode(_images!) : null;
        var kv = spec.WithImage ? encoded ?? ImageKv : null;
        KvCache shared;
        if (_naive)
        {
            shared = Model.NewCache(1, spec.Prompt.Count);
            using var bias = spec.WithImage ? Bias(instruction, 0) : null;
            if (instruction.Count > 0)
                Model.Prefill(Ids(instruction, 0), shared, kv, bias);
        }
        else
            shared = PrefilledWhole(instruction, spec.WithImage);
        using var copy = shared.Fork(1, spec.Prompt.Count - spec.Shared + spec.Continuations.Max(c => c.Count));
        if (_naive)
            shared.Dispose();
        using var tail = spec.WithImage ? Bias(spec.Prompt, spec.Shared) : null;
        var last = Model.Prefill(Ids(spec.Prompt, spec.Shared), copy, kv, tail).select(1, 0);
        return TokenScoring.Continue(Model, copy, last, kv,
            c => spec.WithImage ? Bias([.. spec.Prompt, .. c.Take(c.Count - 1)], spec.Prompt.Count) : null, spec.Continuations);
    }

    /// <summary>
    /// Optimised: a decode job beside the other requests' jobs. Naive: the reference's pattern, on its own.
    /// <paramref name="chain"/>: the prefix is the search's stage chain, which the next stage extends (pinned).
    /// </summary>
    private Task<IReadOnlyList<GeneratedSequence>> GenerateAsync(IReadOnlyList<int> prefix, bool withImage, IReadOnlyList<SequenceSpec> rows,
        Action<int, string>? onDelta, bool chain, CancellationToken ct) =>
        _naive
            ? Owner.Worker.RunAsync(Booked(() => GenerateNaive(prefix, withImage, rows, onDelta, ct)), ct)
            : DecodeBookedAsync(() => StartForked(prefix, withImage, rows, onDelta, chain, ct), ct);

    /// <summary>
    /// Builds a decode job on the model worker (its prefill booked to this session), then waits while it decodes
    /// beside other requests' jobs, and books the tokens it decoded.
    /// </summary>
    private async Task<IReadOnlyList<GeneratedSequence>> DecodeBookedAsync(Func<DecodeJob> start, CancellationToken ct)
    {
        DecodeJob? job = null;
        try
        {
            return await Owner.Worker.DecodeAsync(Booked(() => job = start()), ct);
        }
        finally
        {
            if (job is not null)
                Interlocked.Add(ref _decodedTokens, job.Fed);
        }
    }

    /// <summary>
    /// <paramref name="work"/>, booking what the model counted while it ran to this session: a work item runs alone on
    /// the model worker, so all of it is this session's.
    /// </summary>
    private Func<T> Booked<T>(Func<T> work) => () =>
    {
        var before = Counted();
        try
        {
            return work();
        }
        finally
        {
            Book(before);
        }
    };

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
        var text = Tokenizer.Decode(generated.NewIds, skipSpecialTokens: !request.KeepSpecialTokens);
        if (request.KeepSpecialTokens)
            text = JudgeNoise.Aggregate(text, (t, noise) => t.Replace(noise, "", StringComparison.Ordinal));
        return new Completion(text, generated.NewIds.Count, MllamaGenerator.ToStopReason(generated.Reason)) { LogProbs = LogProbs(generated.LogProbs) };
    }

    /// <summary>
    /// The engine's log-probabilities in the port's terms: each token decoded on its own (a piece of a UTF-8 character
    /// shows as U+FFFD, no clean-up of spaces) with its own bytes, as OpenAI reports them.
    /// </summary>
    private IReadOnlyList<TokenLogProb>? LogProbs(IReadOnlyList<SampledLogProbs>? steps) =>
        steps?.Select(s => new TokenLogProb(s.Token, TokenText(s.Token), s.LogProb, Tokenizer.TokenBytes(s.Token).ToArray(),
            s.TopIds.Select((id, k) => new TopLogProb(id, TokenText(id), s.TopLogProbs[k], Tokenizer.TokenBytes(id).ToArray())).ToList())).ToList();

    private string TokenText(int id) => Tokenizer.Decode([id], skipSpecialTokens: false, cleanUpTokenizationSpaces: false);

    /// <summary>Different prompts, each prefilled on its own (reusing cached prefixes), stacked right-aligned into one job.</summary>
    private DecodeJob StartStacked(IReadOnlyList<CompletionRequest> requests, bool withImage, CancellationToken ct)
    {
        using var scope = NewDisposeScope();
        var copies = new List<KvCache>();
        var firstLogits = new List<Tensor>();
        var rows = new List<SequenceSpec>();
        CrossAttentionBias? continuation = null;
        try
        {
            foreach (var request in requests)
            {
                var ids = Tokenizer.Encode(Prompt(request.UserText, withImage));
                var (cache, logits, next) = PrefillPooled(ids, withImage, pin: false);
                firstLogits.Add(logits);
                // A copy: the pool may reuse or evict its cache for the next prompt.
                copies.Add(cache.Fork(1, 0));
                // Every image prompt's following tokens see the whole image: one row serves all.
                if (continuation is null)
                    continuation = next;
                else
                    next?.Dispose();
                rows.Add(Spec(request, ids));
            }
            var stacked = KvCache.Stack(copies, Reserve(requests.Max(r => r.Stop.MaxNewTokens)));
            IDisposable[] owned = continuation is null ? [stacked] : [stacked, continuation];
            return new DecodeJob(Model, stacked, cat(firstLogits), withImage ? ImageKv : null, continuation, rows, Tokenizer,
                owned: owned, cancellation: ct);
        }
        catch
        {
            continuation?.Dispose();
            throw;
        }
        finally
        {
            copies.ForEach(c => c.Dispose());
        }
    }

    /// <summary>One prefix (from the pool) forked into a row per sequence.</summary>
    private DecodeJob StartForked(IReadOnlyList<int> prefix, bool withImage, IReadOnlyList<SequenceSpec> rows,
        Action<int, string>? onDelta, bool chain, CancellationToken ct)
    {
        using var scope = NewDisposeScope();
        var (cache, logits, continuation) = PrefillPooled(prefix, withImage, pin: chain);
        var fork = cache.Fork(rows.Count, Reserve(rows.Max(r => r.Stop.MaxNewTokens)));
        IDisposable[] owned = continuation is null ? [fork] : [fork, continuation];
        return new DecodeJob(Model, fork, logits, withImage ? ImageKv : null, continuation, rows, Tokenizer, onDelta,
            owned: owned, cancellation: ct);
    }

    /// <summary>The reference's call pattern: one full generate per candidate, each encoding the image again.</summary>
    private IReadOnlyList<GeneratedSequence> GenerateNaive(IReadOnlyList<int> prefix, bool withImage, IReadOnlyList<SequenceSpec> rows,
        Action<int, string>? onDelta, CancellationToken ct) =>
        rows.Select((row, i) => GenerateAlone(prefix, withImage, row, onDelta is null ? null : (_, d) => onDelta(i, d), ct)).ToList();

    /// <summary>
    /// Prefills <paramref name="ids"/> into a cache of the shared prefix cache, reusing its longest cached prefix.
    /// Returns the cache (the prefix cache's: copy or fork it before the next prompt), the last position's logits and
    /// the cross-attention row of the tokens that will follow. <paramref name="pin"/>: these ids are this search's
    /// stage chain, which the next stage extends.
    /// </summary>
    private (KvCache Cache, Tensor Logits, CrossAttentionBias? Continuation) PrefillPooled(IReadOnlyList<int> ids, bool withImage, bool pin)
    {
        var prefixes = Owner.PrefixCache;
        var (cache, reused, evicted) = prefixes.Acquire(withImage ? _imageKey! : "", ids, pin ? this : null);
        using var rows = withImage ? Bias(ids, reused) : null;
        var logits = Model.Prefill(Ids(ids, reused), cache, withImage ? ImageKv : null, rows).select(1, 0);
        BookPrefix(reused, evicted + prefixes.Commit(cache, ids));
        return (cache, logits, rows?.LastRow());
    }

    /// <summary>
    /// A cache of the shared prefix cache holding all of <paramref name="ids"/>, prefilling only what no cached
    /// sequence holds (no logits are needed, so a prefix cached whole is not run again). Copy it before the next prompt.
    /// </summary>
    private KvCache PrefilledWhole(IReadOnlyList<int> ids, bool withImage)
    {
        var prefixes = Owner.PrefixCache;
        var (cache, reused, evicted) = prefixes.Acquire(withImage ? _imageKey! : "", ids, logits: false);
        if (reused < ids.Count)
        {
            using var rows = withImage ? Bias(ids, reused) : null;
            using var logits = Model.Prefill(Ids(ids, reused), cache, withImage ? ImageKv : null, rows);
        }
        BookPrefix(reused, evicted + prefixes.Commit(cache, ids));
        return cache;
    }

    private void BookPrefix(int reused, int evicted)
    {
        Interlocked.Increment(ref reused > 0 ? ref _prefixHits : ref _prefixMisses);
        Interlocked.Add(ref _prefixEvictions, evicted);
    }


    /// <summary>Decode room reserved up front; the cache grows past it if a long generation needs more.</summary>
    private static long Reserve(int maxNewTokens) => Math.Min(maxNewTokens, 256);

    private GeneratedSequence GenerateAlone(IReadOnlyList<int> prefix, bool withImage, SequenceSpec row,
        Action<int, string>? onDelta, CancellationToken ct)
    {
        using var scope = NewDisposeScope();
        using var kv = withImage ? Encode(_images!) : null;
        using var bias = withImage ? Bias(prefix, 0) : null;
        using var cache = Model.NewCache(1, prefix.Count + Reserve(row.Stop.MaxNewTokens));
        var logits = Model.Prefill(Ids(prefix, 0), cache, kv, bias).select(1, 0);
        using var continuation = bias?.LastRow();
        return Decoder.Run(Model, cache, logits, kv, continuation, [row], Tokenizer, onDelta, ct: ct)[0];
    }

    /// <summary>The vision tower and every cross layer's key and value projections on processed images.</summary>
    private CrossAttentionCache Encode(ImageBatch images) =>
        ImageContext.Encode(Model, images.PixelValues, images.AspectRatioIds, images.AspectRatioMask);

    /// <summary>A cache miss: the image processed and encoded.</summary>
    private ImageFeatures Encode(RgbImage image)
    {
        using var images = Owner.Inputs.Images.Process(image);
        return new ImageFeatures(Encode(images), TilesOf(images));
    }

    private static IReadOnlyList<int> TilesOf(ImageBatch images) => images.Images[0].Select(t => t.NumTiles).ToList();

    private static Tensor Ids(IReadOnlyList<int> ids, int from) =>
        tensor(ids.Skip(from).Select(i => (long)i).ToArray()).view(1, -1);

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
        _images?.Dispose();
    }
}
