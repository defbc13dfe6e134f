using System.Diagnostics;
using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Judging;

namespace LlavaCot.Reasoning.Strategies;

/// <summary>Everything one running search shares: the session, its options and randomness, the judge, the event sink.</summary>
public sealed class SearchContext
{
    private readonly EventBuffer _events;
    private int _generatedTokens;
    private int _judgeCalls;
    private int _judgeTokens;
    private int _answerTokens;

    public IGenerationSession Session { get; }
    public ReasonRequest Request { get; }
    public ReasonOptions Options => Request.Options;
    public SeedStream Seeds { get; }
    public IIndexSource Indices { get; }
    public Judge Judge { get; }
    public CancellationToken Cancellation { get; }
    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    public SearchContext(IGenerationSession session, ReasonRequest request, ReasonerSettings settings, SeedStream seeds, IIndexSource indices,
        EventBuffer events, CancellationToken cancellation)
    {
        Session = session;
        Request = request;
        Seeds = seeds;
        Indices = indices;
        _events = events;
        Cancellation = cancellation;
        // Judge replies have their own limit: a request's max_new_tokens must not cut "I choose response 1" off.
        Judge = new Judge(session.CompleteManyAsync, request.Options.Sampling, settings.JudgeMaxNewTokens, seeds, batch: session.BatchesCompletions);
    }

    public int GeneratedTokens => _generatedTokens;
    public int JudgeCalls => _judgeCalls;
    public int JudgeTokens => _judgeTokens;

    /// <summary>Sends an event to the reader, waiting while the reader is far behind (token deltas never wait).</summary>
    public Task EmitAsync(ReasonEvent e) => _events.WriteAsync(e, Cancellation);

    /// <summary>Sends a token delta without waiting (it may be merged with an unread one of the same candidate).</summary>
    public void EmitDelta(TokenDelta delta) => _events.WriteDelta(delta);

    /// <summary>
    /// A stop condition for stage text: the given stop strings, within the request's per-call limit and what is left
    /// of the answer's budget.
    /// </summary>
    public StopCondition StageStop(IReadOnlyList<string> stopStrings, bool stopAtPeriod = false) =>
        new(stopStrings, Options.MaxAnswerTokens is { } budget ? Math.Min(Options.MaxNewTokens, Math.Max(0, budget - _answerTokens)) : Options.MaxNewTokens,
            stopAtPeriod);

    /// <summary>Whether the stage winners so far have used the whole answer budget (the search then ends).</summary>
    public bool AnswerBudgetSpent => Options.MaxAnswerTokens is { } budget && _answerTokens >= budget;

    /// <summary>Whether the answer so far must end: its budget is spent, or one of the request's stop strings shows in it.</summary>
    public bool AnswerEnds(string text) => AnswerBudgetSpent || Options.StopAt(text) >= 0;

    /// <summary>Samples <paramref name="count"/> candidates continuing <paramref name="prefix"/>, streaming their tokens as events.</summary>
    public async Task<IReadOnlyList<Candidate>> SampleAsync(string stage, int index, IReadOnlyList<int> prefix, int count, StopCondition stop)
    {
        var seeds = Enumerable.Range(0, count).Select(_ => Seeds.Next()).ToArray();
        var candidates = await Session.SampleAsync(new SampleRequest(prefix, seeds, stop, Options.Sampling),
            (candidate, text) => EmitDelta(new TokenDelta(stage, index, candidate, text)), Cancellation);
        for (var i = 0; i < candidates.Count; i++)
        {
            Interlocked.Add(ref _generatedTokens, candidates[i].NewTokens);
            await EmitAsync(new CandidateFinished(stage, index, i, candidates[i].NewText, candidates[i].NewTokens, candidates[i].StopReason));
        }
        return candidates;
    }

    /// <summary>Runs the knockout over a stage's candidates with the judge, emitting each comparison.</summary>
    public async Task<(int Winner, IReadOnlyList<StageVerdict> Verdicts)> KnockoutAsync(
        string stage, int index, IReadOnlyList<Candidate> candidates, JudgeType type)
    {
        var verdicts = new List<StageVerdict>();
        var winner = await Knockout.RunAsync(candidates.Count, Indices, async pairs =>
        {
            var results = await Judge.CompareManyAsync(type, Request.Question,
                pairs.Select(p => (candidates[p.First].Text, candidates[p.Second].Text)).ToList(), Cancellation);
            for (var i = 0; i < pairs.Count; i++)
            {
                var r = results[i];
                // Every call counts, also a batched one whose reply was not needed.
                Interlocked.Add(ref _judgeCalls, r.Calls.Count);
                Interlocked.Add(ref _judgeTokens, r.Calls.Sum(c => c.Tokens));
                var (first, second) = pairs[i];
                var won = r.Winner == 0 ? first : second;
                verdicts.Add(new StageVerdict(first, second, won, r.Decision));
                await EmitAsync(new JudgeComparison(stage, index, first, second, won, r.Decision, r.Calls, r.ElapsedSeconds));
            }
            return results.Select(r => r.Winner == 0).ToList();
        });
        return (winner, verdicts);
    }

    public void CountGenerated(int tokens) => Interlocked.Add(ref _generatedTokens, tokens);

    /// <summary>Runs one stage: sample, knockout, report the winner.</summary>
    public async Task<(Candidate Winner, StageResult Result)> StageAsync(
        string stage, int index, IReadOnlyList<int> prefix, int count, StopCondition stop, JudgeType type)
    {
        var started = Clock.Elapsed;
        await EmitAsync(new StageStarted(stage, index, count));
        var candidates = await SampleAsync(stage, index, prefix, count, stop);
        var (winner, verdicts) = await KnockoutAsync(stage, index, candidates, type);
        await EmitAsync(new StageWinner(stage, index, winner, candidates[winner].NewText));
        _answerTokens += candidates[winner].NewTokens;
        var result = new StageResult(stage, winner, candidates[winner].NewText, candidates.Select(c => c.NewTokens).ToList(),
            verdicts, (Clock.Elapsed - started).TotalSeconds);
        return (candidates[winner], result);
    }

    public ReasonResult Result(string text, IReadOnlyList<StageResult> stages, string? conclusion = null) => new(
        text, conclusion ?? Answers.Conclusion(text), ReasoningModes.Name(Options.Mode), Options.BeamSize, stages,
        GeneratedTokens, JudgeCalls, JudgeTokens, Clock.Elapsed.TotalSeconds, Session.Info, Session.Cost);
}
