using LlavaCot.Model.Inputs;
using LlavaCot.Model.Text;
using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>
/// One request's sequences being decoded: their cache and image, each row's spec, ids, text and state. A step
/// samples every active row from the logits it was last given (its own settings and uniform source), applies its
/// EOS set, stop strings and budget, drops finished rows from the cache, and hands back the tokens to feed. The
/// caller runs the model on them, alone (<see cref="Decoder"/>) or beside other requests' rows
/// (<see cref="StepScheduler"/>), and returns the logits.
/// </summary>
public sealed class DecodeJob : IDisposable
{
    private readonly KvCache _cache;
    private readonly IReadOnlyList<IDisposable> _owned;
    private readonly CrossAttentionCache? _kv;
    private readonly CrossAttentionBias? _continuation;
    private readonly IReadOnlyList<SequenceSpec> _rows;
    private readonly SequenceText?[] _texts;
    private readonly System.Text.StringBuilder?[] _released;
    private readonly List<int>[] _ids;
    private readonly StopReason[] _reasons;
    private readonly List<SampledLogProbs>?[] _logProbs;
    private readonly Action<int, string>? _onText;
    private readonly Decoder.LogitsObserver? _observe;
    private List<int> _active;
    private Tensor? _logits;
    private WorkCost? _cost;

    public MllamaModel Model { get; }
    public CancellationToken Cancellation { get; }

    /// <summary>Sequences still running (rows of the next step).</summary>
    public int Rows => _active.Count;

    /// <summary>Tokens handed to the model so far (one per running row per step).</summary>
    public long Fed { get; private set; }

    /// <param name="cache">Holds every row's prefix.</param>
    /// <param name="firstLogits">The prefixes' last-position logits, [1 or rows, vocab].</param>
    /// <param name="tokenizer">Streams each row's text; may be null when no row's stop rule reads text and nobody listens.</param>
    /// <param name="onText">Text released by a row (row index, text).</param>
    /// <param name="owned">What the job frees when it is disposed (its forked cache, its mask row).</param>
    /// <param name="cost">The request the tokens it feeds are booked to, when it is disposed.</param>
    public DecodeJob(MllamaModel model, KvCache cache, Tensor firstLogits, CrossAttentionCache? kv, CrossAttentionBias? continuation,
        IReadOnlyList<SequenceSpec> rows, ITokenizer? tokenizer = null, Action<int, string>? onText = null,
        Decoder.LogitsObserver? observe = null, IReadOnlyList<IDisposable>? owned = null, CancellationToken cancellation = default,
        WorkCost? cost = null)
    {
        _cost = cost;
        if (tokenizer is null && (onText is not null || rows.Any(r => r.Stop.NeedsText)))
            throw new ArgumentException("streaming text or stop strings need a tokenizer");
        if (rows.Any(r => r.TopLogProbs is < 0 or > SampledLogProbs.MaxTop))
            throw new ArgumentException($"a row may ask for 0..{SampledLogProbs.MaxTop} top log-probabilities");
        (Model, _cache, _owned, _kv, _continuation, _rows, _onText, _observe, Cancellation) =
            (model, cache, owned ?? [], kv, continuation, rows, onText, observe, cancellation);
        _texts = rows.Select(r => tokenizer is null ? null : new SequenceText(tokenizer, r.SkipSpecialTokens, r.PromptText, r.Stop)).ToArray();
        _released = rows.Select(_ => tokenizer is null ? null : new System.Text.StringBuilder()).ToArray();
        _ids = rows.Select(_ => new List<int>()).ToArray();
        _reasons = new StopReason[rows.Count];
        _logProbs = rows.Select(r => r.TopLogProbs is null ? null : new List<SampledLogProbs>()).ToArray();
        _active = Enumerable.Range(0, rows.Count).Where(i => rows[i].Stop.MaxNewTokens > 0).ToList();
        foreach (var i in Enumerable.Range(0, rows.Count).Except(_active))
            _reasons[i] = StopReason.MaxTokens;
        if (_active.Count == 0)
            return;
        if (_active.Count < rows.Count)
            _cache.Keep(_active.Select(i => (long)i).ToList());
        using var scope = NewDisposeScope();
        var all = firstLogits.shape[0] == 1 ? firstLogits.expand(rows.Count, -1) : firstLogits;
        using var index = tensor(_active.Select(i => (long)i).ToArray());
        _logits = all.index_select(0, index.to(all.device)).DetachFromDisposeScope();
    }

    /// <summary>Each row's new ids, why it stopped and, where asked, their log-probabilities (complete once <see cref="Step"/> returns null).</summary>
    public IReadOnlyList<GeneratedSequence> Results =>
        _ids.Select((l, i) => new GeneratedSequence(l, _reasons[i], _logProbs[i]) { Text = _released[i]?.ToString() }).ToList();

    /// <summary>
    /// Samples a token for every active row from the last logits; returns what the next model step takes for the rows
    /// that go on, or null when every row has finished.
    /// </summary>
    public DecodeRows? Step()
    {
        if (_logits is null)
            return null;
        using var scope = NewDisposeScope();
        _observe?.Invoke(_logits, _active);
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var tokens = TokenSampler.Sample(_logits, _active.Select(i => _rows[i].Sampler).ToList(), _active.Select(i => _rows[i].Uniform).ToList());
        // From the logits the token was drawn from, in this step: no second pass over the sequence.
        var logProbs = SampledLogProbs.Of(_logits, tokens, _active.Select(i => _rows[i].TopLogProbs).ToList());
        Model.Counters.Sampled(start);
        _logits.Dispose();
        _logits = null;
        var continuing = new List<int>();
        for (var row = 0; row < _active.Count; row++)
        {
            var i = _active[row];
            var token = (int)tokens[row];
            _ids[i].Add(token);
            if (logProbs[row] is { } recorded)
                _logProbs[i]!.Add(recorded);
            var (delta, stopped) = _texts[i]?.Add(token) ?? ("", false);
            StopReason? reason = _rows[i].Stop.Eos.Contains(token) ? StopReason.EndOfSequence
                : stopped ? StopReason.StopString
                : _ids[i].Count >= _rows[i].Stop.MaxNewTokens ? StopReason.MaxTokens
                : null;
            if (reason is { } r)
            {
                _reasons[i] = r;
                delta += _texts[i]?.Flush() ?? "";
            }
            else
                continuing.Add(row);
            if (delta.Length > 0)
            {
                _released[i]!.Append(delta);
                _onText?.Invoke(i, delta);
            }
        }
        if (continuing.Count < _active.Count && continuing.Count > 0)
            _cache.Keep(continuing.Select(r => (long)r).ToList());
        _active = continuing.Select(r => _active[r]).ToList();
        if (_active.Count == 0)
            return null;
        var next = tensor(continuing.Select(r => tokens[r]).ToArray()).view(-1, 1).DetachFromDisposeScope();
        Fed += continuing.Count;
        return new DecodeRows(next, _cache, _kv, _continuation);
    }

    /// <summary>The logits [rows, vocab] the model gave for the rows of the last <see cref="Step"/>.</summary>
    public void Receive(Tensor logits)
    {
        if (logits.shape[0] != _active.Count)
            throw new ArgumentException($"{logits.shape[0]} rows of logits for {_active.Count} running sequences");
        _logits?.Dispose();
        _logits = logits.alias().DetachFromDisposeScope();
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _cost, null)?.Decoded(Fed);
        _logits?.Dispose();
        _logits = null;
        foreach (var o in _owned)
            o.Dispose();
    }
}
