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
    public ModelCost Cost => PortMapping.Cost(_cost);
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
        var s = new MllamaSession(owner, imageKey, owner.Inputs.Tokenizer.Encode(prompt), date);
        try
        {
            if (batch is not null && !await s._owner.Worker.RunAsync(() => (s._lease = s.Engine.TryCachedImage(imageKey!, s._cost)) is not null, ct))
                await s._owner.Worker.RunSlicedAsync(Lane.Vision, s.Engine.Encode(batch, imageKey!, s._cost, l => s._lease = l), () => true, ct);
            return s;
        }
        catch
        {
            await s.DisposeAsync();
            throw;
        }
    }

    public async Task<IReadOnlyList<Candidate>> SampleAsync(SampleRequest request, Action<int, string>? onDelta, CancellationToken ct)
    {
        var promptText = Tokenizer.Decode(request.Prefix, skipSpecialTokens: true);
        var rows = request.Seeds.Select(seed => _owner.Spec(request.Stop, request.Sampling, seed, promptText, true, request.TopLogProbs)).ToList();
        // The prefix is this search's stage chain, which the next stage extends (pinned in the prefix cache).
        var fork = new ForkRequest(request.Prefix, Image(true), rows, this, onDelta, ct);
        return PortMapping.Candidates(Tokenizer, request.Prefix, PromptIds.Count, await _owner.Worker.DecodeAsync(start => Engine.Fork(fork, _cost, start), ct));
    }

    public async Task<Completion> CompleteAsync(CompletionRequest request, Action<string>? onDelta, CancellationToken ct)
    {
        var (ids, row) = Row(request);
        var fork = new ForkRequest(ids, Image(request.WithImage), [row], null, onDelta is null ? null : (_, d) => onDelta(d), ct);
        var generated = await _owner.Worker.DecodeAsync(start => Engine.Fork(fork, _cost, start), ct);
        return PortMapping.Completion(Tokenizer, request, generated[0]);
    }

    /// <summary>The prompts as stacked jobs, one with the image and one without, side by side.</summary>
    public async Task<IReadOnlyList<Completion>> CompleteManyAsync(IReadOnlyList<CompletionRequest> requests, CancellationToken ct)
    {
        var groups = Enumerable.Range(0, requests.Count).GroupBy(i => Image(requests[i].WithImage) is not null).ToList();
        var generated = await Task.WhenAll(groups.Select(g => _owner.Worker.DecodeAsync(start =>
            Engine.Stack(new StackRequest(g.Select(i => Row(requests[i])).ToList(), Image(g.Key), ct), _cost, start), ct)));
        var results = new Completion[requests.Count];
        foreach (var (g, sequences) in groups.Zip(generated))
            foreach (var (i, s) in g.Zip(sequences))
                results[i] = PortMapping.Completion(Tokenizer, requests[i], s);
        return results;
    }

    public async Task<IReadOnlyList<ScoreResult>> ScoreAsync(IReadOnlyList<ScoreRequest> requests, CancellationToken ct)
    {
        var specs = requests.Select(r => PortMapping.Score(Tokenizer, r, Image(r.WithImage) is not null, Prompt)).ToList();
        var scores = new List<IReadOnlyList<IReadOnlyList<double>>>();
        await _owner.Worker.RunSlicedAsync(Lane.Prompt, Engine.Score(specs, Image(true), _cost, scores), () => true, ct);
        return specs.Zip(scores, (s, lp) => new ScoreResult(lp, s.Prompt.Count + s.Continuations.Sum(c => c.Count))).ToList();
    }

    /// <summary>A completion's prompt ids and its row: sampled and stopped as asked; the stop rule also searches the prompt.</summary>
    private (IReadOnlyList<int> Ids, SequenceSpec Row) Row(CompletionRequest r)
    {
        var ids = Tokenizer.Encode(Prompt(r.UserText, Image(r.WithImage) is not null));
        return (ids, _owner.Spec(r.Stop, r.Sampling, r.Seed, Tokenizer.Decode(ids, skipSpecialTokens: true), !r.KeepSpecialTokens, r.TopLogProbs));
    }

    private IReadOnlyList<PromptSegment> Prompt(string text, bool withImage) => _owner.Inputs.Prompt(text, withImage, _date);

    /// <summary>Frees the session's hold on the model on its thread; twice is harmless. Once the worker is gone the model is
    /// going too, and tensors are never freed from another thread: they are left as they are.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        try
        {
            await _owner.Worker.RunAsync(() => Engine.Close(this, Interlocked.Exchange(ref _lease, null)));
        }
        catch (ObjectDisposedException)
        {
            // The worker stopped before this session was closed.
        }
    }
}
