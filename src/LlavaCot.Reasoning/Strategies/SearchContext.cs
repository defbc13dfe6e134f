using System.Collections.Concurrent;
using System.Diagnostics;
using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Judging;
using LlavaCot.Reasoning.Scoring;

namespace LlavaCot.Reasoning.Strategies;

/// <summary>
/// Everything one running search shares: the session, its options and randomness, the scorers (the pairwise judge and
/// the verifier), the event sink, and what the search has spent.
/// </summary>
public sealed class SearchContext
{
    private readonly EventBuffer _events;
    private readonly bool _skipIdentical;
    private int _generatedTokens;
    private int _judgeCalls;
    private int _judgeTokens;
    private int _scoreCalls;
    private int _scoreTokens;
    private int _answerTokens;

    // Where the request asked for log-probabilities: every sampled candidate's, of all it generated after the prompt
    // (its prefix's and its own), by its ids (null where a part was not recorded). A chain's prefix is an earlier
    // candidate's Ids, so whatever candidate a mode returns, its whole answer's log-probabilities are known.
    private readonly ConcurrentDictionary<IReadOnlyList<int>, IReadOnlyList<TokenLogProb>?> _chains = new(ReferenceEqualityComparer.Instance);

    public IGenerationSession Session { get; }
    public ReasonRequest Request { get; }
    public ReasonOptions Options => Request.Options;
    public SeedStream Seeds { get; }
    public IIndexSource Indices { get; }
    public Judge Judge { get; }
    public Verifier Verifier { get; }

    /// <summary>What chooses among candidates: the request's scorer, else its mode's default.</summary>
    public ScorerKind Scorer { get; }

    /// <summary>SWIRES's cutoff: the request's, else the model's setting.</summary>
    public double SwiresCutoff { get; }

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
        _skipIdentical = settings.SkipIdenticalCandidates;
        Cancellation = cancellation;
        Scorer = Scorers.Of(request.Options);
        SwiresCutoff = request.Options.SwiresCutoff ?? settings.SwiresCutoff;
        // Judge replies have their own limit: a request's max_new_tokens must not cut "I choose response 1" off.
        Judge = new Judge(session.CompleteManyAsync, request.Options.Sampling, settings.JudgeMaxNewTokens, seeds, batch: session.BatchesCompletions);
        Verifier = new Verifier(session.ScoreAsync);
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
    /// of the answer's budget after the stage winners so far (or after <paramref name="spent"/> tokens of the chain
    /// the stage continues, where chains differ).
    /// </summary>
    public StopCondition StageStop(IReadOnlyList<string> stopStrings, bool stopAtPeriod = false, int? spent = null) =>
        new(stopStrings, Options.MaxAnswerTokens is { } budget
            ? Math.Min(Options.MaxNewTokens, Math.Max(0, budget - (spent ?? _answerTokens)))
            : Options.MaxNewTokens, stopAtPeriod);

    /// <summary>Whether the stage winners so far have used the whole answer budget (the search then ends).</summary>
    public bool AnswerBudgetSpent => Options.MaxAnswerTokens is { } budget && _answerTokens >= budget;

    /// <summary>Whether the answer so far must end: its budget is spent, or one of the request's stop strings shows in it.</summary>
    public bool AnswerEnds(string text) => AnswerBudgetSpent || Options.StopAt(text) >= 0;

    /// <summary>Counts a stage winner's tokens against the answer's budget.</summary>
    public void Spend(int tokens) => _answerTokens += tokens;

    /// <summary>Samples <paramref name="count"/> candidates continuing <paramref name="prefix"/>, streaming their tokens as events.</summary>
    public Task<IReadOnlyList<Candidate>> SampleAsync(string stage, int index, IReadOnlyList<int> prefix, int count, StopCondition stop) =>
        SampleAsync(stage, index, [(prefix, stop)], count);

    /// <summary>
    /// Samples <paramref name="perGroup"/> candidates continuing each group's prefix, all groups at once (their
    /// decoding shares steps); the stage's candidates are numbered group by group. Seeds are drawn in that order first.
    /// </summary>
    public async Task<IReadOnlyList<Candidate>> SampleAsync(string stage, int index,
        IReadOnlyList<(IReadOnlyList<int> Prefix, StopCondition Stop)> groups, int perGroup)
    {
        var seeds = groups.Select(_ => Enumerable.Range(0, perGroup).Select(_ => Seeds.Next()).ToArray()).ToList();
        var sampled = await Task.WhenAll(groups.Select((g, k) => Session.SampleAsync(
            new SampleRequest(g.Prefix, seeds[k], g.Stop, Options.Sampling) { TopLogProbs = Options.TopLogProbs },
            (candidate, text) => EmitDelta(new TokenDelta(stage, index, k * perGroup + candidate, text)), Cancellation)));
        if (Options.TopLogProbs is not null)
        {
            for (var k = 0; k < groups.Count; k++)
            {
                var before = ChainLogProbs(groups[k].Prefix);
                foreach (var c in sampled[k])
                    _chains[c.Ids] = before is null || c.LogProbs is null ? null : [.. before, .. c.LogProbs];
            }
        }
        var candidates = sampled.SelectMany(c => c).ToList();
        for (var i = 0; i < candidates.Count; i++)
        {
            Interlocked.Add(ref _generatedTokens, candidates[i].NewTokens);
            await EmitAsync(new CandidateFinished(stage, index, i, candidates[i].NewText, candidates[i].NewTokens, candidates[i].StopReason));
        }
        return candidates;
    }

    /// <summary>
    /// The log-probabilities of every token <paramref name="answer"/> holds after the prompt, in order; null unless the
    /// request asked for them (or where some were not recorded).
    /// </summary>
    public IReadOnlyList<TokenLogProb>? LogProbsOf(Candidate? answer) =>
        Options.TopLogProbs is null || answer is null ? null : ChainLogProbs(answer.Ids);

    /// <summary>What was generated into <paramref name="ids"/> after the prompt: nothing for the prompt, else a sampled candidate's chain.</summary>
    private IReadOnlyList<TokenLogProb>? ChainLogProbs(IReadOnlyList<int> ids)
    {
        if (ids.Count == Session.PromptIds.Count)
            return [];
        if (_chains.TryGetValue(ids, out var known))
            return known;
        return _chains.FirstOrDefault(c => c.Key.SequenceEqual(ids)).Value;
    }

    /// <summary>Starts stage "answer" (index 0) and samples N whole answers, each stopped at &lt;/CONCLUSION&gt;.</summary>
    public async Task<IReadOnlyList<Candidate>> SampleAnswersAsync()
    {
        await EmitAsync(new StageStarted(AnswerStage, 0, Options.BeamSize));
        return await SampleAsync(AnswerStage, 0, Session.PromptIds, Options.BeamSize, StageStop([Answers.ConclusionEnd]));
    }

    /// <summary>The stage a mode that answers whole in one go reports.</summary>
    public const string AnswerStage = "answer";

    /// <summary>For each candidate, the earlier candidate that generated the same ids, if skipping identical ones is on.</summary>
    private int?[] IdenticalTo(IReadOnlyList<Candidate> candidates)
    {
        var same = new int?[candidates.Count];
        for (var i = 0; i < candidates.Count && _skipIdentical; i++)
        {
            var j = Enumerable.Range(0, i).FirstOrDefault(j => candidates[j].Ids.SequenceEqual(candidates[i].Ids), -1);
            same[i] = j >= 0 ? j : null;
        }
        return same;
    }

    /// <summary>
    /// Runs the knockout over candidates <paramref name="among"/> (all when null) with the judge, emitting each
    /// comparison; returns the winner's index among all candidates.
    /// </summary>
    public async Task<(int Winner, IReadOnlyList<StageVerdict> Verdicts)> KnockoutAsync(
        string stage, int index, IReadOnlyList<Candidate> candidates, JudgeType type, IReadOnlyList<int>? among = null)
    {
        among ??= Enumerable.Range(0, candidates.Count).ToList();
        var verdicts = new List<StageVerdict>();
        var winner = await Knockout.RunAsync(among.Count, Indices, async picks =>
        {
            var pairs = picks.Select(p => (First: among[p.First], Second: among[p.Second])).ToList();
            // The same ids on both sides: the lower index wins without a call.
            var identical = pairs.Select(p => _skipIdentical && candidates[p.First].Ids.SequenceEqual(candidates[p.Second].Ids)
                ? p.First < p.Second ? 0 : 1
                : (int?)null).ToList();
            var results = await Judge.CompareManyAsync(type, Request.Question,
                pairs.Select(p => (candidates[p.First].Text, candidates[p.Second].Text)).ToList(), Cancellation, identical);
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
        return (among[winner], verdicts);
    }

    /// <summary>
    /// The verifier's score of each candidate as a stage of <paramref name="type"/> (whole answers: All), all in one
    /// batch; a candidate with the same ids as an earlier one takes its score without a second call. Emits each score,
    /// naming candidate i as <paramref name="numbers"/>[i] where only some of the stage's candidates are scored.
    /// </summary>
    public async Task<IReadOnlyList<double>> ScoreAsync(string stage, int index, IReadOnlyList<Candidate> candidates, JudgeType type,
        IReadOnlyList<int>? numbers = null)
    {
        int Number(int i) => numbers?[i] ?? i;
        var started = Clock.Elapsed;
        var identical = IdenticalTo(candidates);
        var distinct = Enumerable.Range(0, candidates.Count).Where(i => identical[i] is null).ToList();
        var scored = await Verifier.ScoreManyAsync(type, Request.Question, distinct.Select(i => candidates[i].Text).ToList(), Cancellation);
        var elapsed = (Clock.Elapsed - started).TotalSeconds;
        var byCandidate = new VerifierScore[candidates.Count];
        for (var k = 0; k < distinct.Count; k++)
            byCandidate[distinct[k]] = scored[k];
        for (var i = 0; i < candidates.Count; i++)
        {
            var s = byCandidate[i] ??= byCandidate[identical[i]!.Value];
            if (identical[i] is null && s.Decision == "verifier")
            {
                Interlocked.Increment(ref _scoreCalls);
                Interlocked.Add(ref _scoreTokens, s.Tokens);
            }
            await EmitAsync(identical[i] is { } same
                ? new CandidateScored(stage, index, Number(i), s.Score, s.LogProbCorrect, s.LogProbIncorrect, "identical", 0, Number(same))
                : new CandidateScored(stage, index, Number(i), s.Score, s.LogProbCorrect, s.LogProbIncorrect, s.Decision, s.Tokens, ElapsedSeconds: elapsed));
        }
        return byCandidate.Select(s => s.Score).ToList();
    }

    /// <summary>The candidates in order of their scores, best first; equal scores keep the lower index first.</summary>
    public static IReadOnlyList<int> Ranked(IReadOnlyList<double> scores) =>
        Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ThenBy(i => i).ToList();

    /// <summary>Chooses a stage's winner with the search's scorer: the knockout, the highest score, or the only candidate.</summary>
    public async Task<(int Winner, IReadOnlyList<StageVerdict> Verdicts, IReadOnlyList<double>? Scores)> ChooseAsync(
        string stage, int index, IReadOnlyList<Candidate> candidates, JudgeType type)
    {
        if (candidates.Count == 1 || Scorer == ScorerKind.None)
            return (0, [], null);
        if (Scorer == ScorerKind.Verifier)
        {
            var scores = await ScoreAsync(stage, index, candidates, type);
            return (Ranked(scores)[0], [], scores);
        }
        var (winner, verdicts) = await KnockoutAsync(stage, index, candidates, type);
        return (winner, verdicts, null);
    }

    public void CountGenerated(int tokens) => Interlocked.Add(ref _generatedTokens, tokens);

    /// <summary>Runs one stage: sample, choose with the scorer, report the winner.</summary>
    public async Task<(Candidate Winner, StageResult Result)> StageAsync(
        string stage, int index, IReadOnlyList<int> prefix, int count, StopCondition stop, JudgeType type)
    {
        var started = Clock.Elapsed;
        await EmitAsync(new StageStarted(stage, index, count));
        var candidates = await SampleAsync(stage, index, prefix, count, stop);
        var (winner, verdicts, scores) = await ChooseAsync(stage, index, candidates, type);
        return await WinnerAsync(stage, index, candidates, winner, started, verdicts, scores);
    }

    /// <summary>Reports a stage's winner, counts its tokens against the answer's budget, and sums the stage up.</summary>
    public async Task<(Candidate Winner, StageResult Result)> WinnerAsync(string stage, int index, IReadOnlyList<Candidate> candidates,
        int winner, TimeSpan started, IReadOnlyList<StageVerdict>? verdicts = null, IReadOnlyList<double>? scores = null)
    {
        await EmitAsync(new StageWinner(stage, index, winner, candidates[winner].NewText) { LogProbs = candidates[winner].LogProbs });
        Spend(candidates[winner].NewTokens);
        return (candidates[winner], Summary(stage, index, candidates, winner, started, verdicts, scores));
    }

    /// <summary>A stage as the result lists it.</summary>
    public StageResult Summary(string stage, int index, IReadOnlyList<Candidate> candidates, int winner, TimeSpan started,
        IReadOnlyList<StageVerdict>? verdicts = null, IReadOnlyList<double>? scores = null) =>
        new(stage, winner, candidates[winner].NewText, candidates.Select(c => c.NewTokens).ToList(), verdicts ?? [],
            (Clock.Elapsed - started).TotalSeconds, scores);

    /// <param name="logProbs">The log-probabilities of the tokens of <paramref name="text"/>, where the request asked.</param>
    public ReasonResult Result(string text, IReadOnlyList<StageResult> stages, string? conclusion = null,
        IReadOnlyList<TokenLogProb>? logProbs = null) => new(
        text, conclusion ?? Answers.Conclusion(text), ReasoningModes.Name(Options.Mode), Options.BeamSize, stages,
        GeneratedTokens, JudgeCalls, JudgeTokens, Clock.Elapsed.TotalSeconds, Session.Info, Session.Cost,
        Scorers.Name(Scorer), _scoreCalls, _scoreTokens, Options.TopLogProbs is null ? null : logProbs);
}
