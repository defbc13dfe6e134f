using LlavaCot.Model.Generation;
using LlavaCot.Model.Inputs;
using LlavaCot.Reasoning;

namespace LlavaCot.Runtime;

/// <summary>
/// One request on the model: the port's calls translated into the engine's requests (token ids, rows, the image's
/// leased features), run as sliced work on the model worker, and their results back into the port's terms.
/// </summary>
internal sealed class MllamaSession : IGenerationSession
{
    private static readonly string[] JudgeNoise = ["<|eot_id|>", "<|endoftext|>"];

    private readonly MllamaGenerator _owner;
    private readonly DateOnly _date;
    private readonly string? _imageKey;
    private readonly WorkCost _cost;
    private ImageFeatureCache.Lease? _lease;
    private int _disposed;

    private MllamaSession(MllamaGenerator owner, string? imageKey, IReadOnlyList<int> promptIds, DateOnly date) =>
        (_owner, _imageKey, PromptIds, _date, _cost, Info) = (owner, imageKey, promptIds, date, new WorkCost(owner.Model),
            new SessionInfo(date, DTypeChoice.Describe(owner.Model.DType, owner.Model.MatrixDType), owner.Model.Device.ToString(), owner.CpuFeatures));

    public IReadOnlyList<int> PromptIds { get; }

    public SessionInfo Info { get; }

    public ModelCost Cost => new(_cost.VisionPasses, _cost.PrefilledTokens, _cost.DecodedTokens, _cost.ImageCacheHits, _cost.ImageCacheMisses,
        _cost.ImageCacheEvictions, _cost.PrefixCacheHits, _cost.PrefixCacheMisses, _cost.PrefixCacheEvictions);

    public bool BatchesCompletions => true;

    private Engine Engine => _owner.Engine;
    private ITokenizer Tokenizer => _owner.Inputs.Tokenizer;

    /// <summary>The request's image on the engine, for calls that show it (null for text-only calls).</summary>
    private RequestImage? Image(bool withImage) => withImage && _lease is not null ? new RequestImage(_imageKey!, _lease.Features) : null;

    /// <summary>
    /// Tokenises the prompt and processes the image off the model thread, then takes the image's features from the shared
    /// cache, or encodes them in the vision lane.
    /// </summary>
    internal static async Task<MllamaSession> OpenAsync(MllamaGenerator owner, RgbImage? image, string? imageKey,
        IReadOnlyList<PromptSegment> prompt, DateOnly date, CancellationToken ct)
    {
        // Made on this thread and freed on it once the model thread no longer reads it.
        using var batch = image is null ? null : owner.Inputs.Images.Process(image);
        var session = new MllamaSession(owner, imageKey, owner.Inputs.Tokenizer.Encode(prompt), date);
        try
        {
            if (batch is not null && !await owner.Worker.RunAsync(() => (session._lease = owner.Engine.TryCachedImage(imageKey!, session._cost)) is not null, ct))
                await owner.Worker.RunSlicedAsync(Lane.Vision, owner.Engine.Encode(batch, imageKey!, session._cost, l => session._lease = l), () => true, ct);
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    public async Task<IReadOnlyList<Candidate>> SampleAsync(SampleRequest request, Action<int, string>? onDelta, CancellationToken ct)
    {
        var promptText = Tokenizer.Decode(request.Prefix, skipSpecialTokens: true);
        var rows = request.Seeds.Select(seed => _owner.Spec(request.Stop, request.Sampling, seed, promptText, true, request.TopLogProbs)).ToList();
        // The prefix is this search's stage chain, which the next stage extends (pinned in the prefix cache).
        var sequences = await DecodeAsync((cost, start) => Engine.Fork(new ForkRequest(request.Prefix, Image(true), rows, this, onDelta, ct), cost, start), ct);
        // The earlier stages' text once per call; each candidate's own text is what the engine released while decoding it.
        var before = Tokenizer.Decode(request.Prefix.Skip(PromptIds.Count), skipSpecialTokens: true);
        return sequences.Select(s => new Candidate(request.Prefix.Concat(s.NewIds).ToList(), before + s.Text, s.Text!, s.NewIds.Count, s.Reason)
        {
            LogProbs = LogProbs(s.LogProbs),
        }).ToList();
    }

    public async Task<Completion> CompleteAsync(CompletionRequest request, Action<string>? onDelta, CancellationToken ct)
    {
        var (ids, row) = Row(request);
        var generated = await DecodeAsync((cost, start) => Engine.Fork(new ForkRequest(ids, Image(request.WithImage), [row], null,
            onDelta is null ? null : (_, d) => onDelta(d), ct), cost, start), ct);
        return ToCompletion(request, generated[0]);
    }

    /// <summary>The prompts as stacked jobs, one with the image and one without, side by side.</summary>
    public async Task<IReadOnlyList<Completion>> CompleteManyAsync(IReadOnlyList<CompletionRequest> requests, CancellationToken ct)
    {
        var groups = Enumerable.Range(0, requests.Count).GroupBy(i => Image(requests[i].WithImage) is not null).ToList();
        var generated = await Task.WhenAll(groups.Select(g => DecodeAsync((cost, start) =>
            Engine.Stack(new StackRequest(g.Select(i => Row(requests[i])).ToList(), Image(g.Key), ct), cost, start), ct)));
        var results = new Completion[requests.Count];
        foreach (var (g, sequences) in groups.Zip(generated))
            foreach (var (i, s) in g.Zip(sequences))
                results[i] = ToCompletion(requests[i], s);
        return results;
    }

    public async Task<IReadOnlyList<ScoreResult>> ScoreAsync(IReadOnlyList<ScoreRequest> requests, CancellationToken ct)
    {
        var specs = requests.Select(r =>
        {
            var withImage = Image(r.WithImage) is not null;
            var prompt = Tokenizer.Encode(Prompt(r.UserText, withImage));
            // The instruction's tokens: as far as the prompt without the candidate agrees (a word may join across).
            var shared = Math.Clamp(PrefixCache.CommonPrefix(Tokenizer.Encode(Prompt(r.Instruction, withImage)), prompt), 1, prompt.Count - 1);
            return new ScoreSpec(prompt, shared, r.Continuations.Select(Tokenizer.EncodeUser).ToList(), withImage);
        }).ToList();
        var scores = new List<IReadOnlyList<IReadOnlyList<double>>>();
        await _owner.Worker.RunSlicedAsync(Lane.Prompt, Engine.Score(specs, Image(true), _cost, scores), () => true, ct);
        return specs.Zip(scores, (s, lp) => new ScoreResult(lp, s.Prompt.Count + s.Continuations.Sum(c => c.Count))).ToList();
    }

    /// <summary>An engine request's chunks and decode job on the worker, and the tokens it decoded booked to this request.</summary>
    private async Task<IReadOnlyList<GeneratedSequence>> DecodeAsync(Func<WorkCost, Action<DecodeJob>, IEnumerable<int>> request, CancellationToken ct)
    {
        DecodeJob? job = null;
        try
        {
            return await _owner.Worker.DecodeAsync(request(_cost, j => job = j), () => job!, ct);
        }
        finally
        {
            if (job is not null)
                _cost.Decoded(job.Fed);
        }
    }

    /// <summary>A completion's prompt ids and its row: sampled and stopped as asked; the stop rule also searches the prompt.</summary>
    private (IReadOnlyList<int> Ids, SequenceSpec Row) Row(CompletionRequest r)
    {
        var ids = Tokenizer.Encode(Prompt(r.UserText, Image(r.WithImage) is not null));
        return (ids, _owner.Spec(r.Stop, r.Sampling, r.Seed, Tokenizer.Decode(ids, skipSpecialTokens: true), !r.KeepSpecialTokens, r.TopLogProbs));
    }

    private Completion ToCompletion(CompletionRequest request, GeneratedSequence generated)
    {
        var text = request.KeepSpecialTokens ? JudgeNoise.Aggregate(generated.Text!, (t, noise) => t.Replace(noise, "", StringComparison.Ordinal)) : generated.Text!;
        return new Completion(text, generated.NewIds.Count, generated.Reason) { LogProbs = LogProbs(generated.LogProbs) };
    }

    /// <summary>Each token decoded on its own (a piece of a UTF-8 character shows as U+FFFD) with its own bytes, as OpenAI reports them.</summary>
    private IReadOnlyList<TokenLogProb>? LogProbs(IReadOnlyList<SampledLogProbs>? steps) =>
        steps?.Select(s => new TokenLogProb(s.Token, TokenText(s.Token), s.LogProb, Tokenizer.TokenBytes(s.Token).ToArray(),
            s.TopIds.Select((id, k) => new TopLogProb(id, TokenText(id), s.TopLogProbs[k], Tokenizer.TokenBytes(id).ToArray())).ToList())).ToList();

    private string TokenText(int id) => Tokenizer.Decode([id], skipSpecialTokens: false, cleanUpTokenizationSpaces: false);

    private IReadOnlyList<PromptSegment> Prompt(string text, bool withImage) => _owner.Inputs.Prompt(text, withImage, _date);

    /// <summary>Frees the session's hold on the model on its thread; twice is harmless. Once the worker is gone the model is
    /// going too, and tensors are never freed from another thread: they are left as they are.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        try
        {
            await _owner.Worker.RunAsync(() =>
            {
                _owner.PrefixCache.Unpin(this);
                _lease?.Dispose();
                _lease = null;
            });
        }
        catch (ObjectDisposedException)
        {
            // The worker stopped before this session was closed.
        }
    }
}
