using System.Diagnostics;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;

namespace LlavaCot.Training.Eval;

/// <summary>How often the judge picked the right candidate where exactly one of the two was right.</summary>
public sealed record StageAgreement(int Comparisons, int Agreed)
{
    public double? Rate => Comparisons == 0 ? null : Agreed / (double)Comparisons;
}

/// <summary>One mode at one N over a question set.</summary>
/// <param name="Correct">Per question, in order: the answer was right (for paired comparisons).</param>
/// <param name="Texts">Per question, in order: the final answer's whole text.</param>
/// <param name="CaptionOk">Share of final answers whose caption lists exactly the reference's shapes (null without references).</param>
public sealed record ModeResult(
    string Mode, int N, string Label, int Count, double Accuracy, double CiLow, double CiHigh, double TagsOk, double? CaptionOk,
    IReadOnlyDictionary<string, StageAgreement> JudgeAgreement, long Tokens, long JudgeTokens, double Seconds,
    IReadOnlyList<bool> Correct, IReadOnlyDictionary<string, double> AccuracyByType, IReadOnlyList<string> Texts);

/// <summary>
/// Runs searches over a question set and grades them: accuracy, well-formed tags, judge agreement, cost. With several
/// reasoners (model instances on their own threads) questions run concurrently, one per reasoner; question i is always
/// searched with the same seed, so the results do not depend on how many run at once.
/// </summary>
public sealed class Evaluator(IReadOnlyList<Reasoner> reasoners, int maxNewTokens, DateOnly date)
{
    public Evaluator(Reasoner reasoner, int maxNewTokens, DateOnly date) : this([reasoner], maxNewTokens, date)
    {
    }

    /// <summary>What one question's search gave.</summary>
    private sealed record Outcome(string Text, bool Correct, bool TagsOk, bool? CaptionRight, long Tokens, long JudgeTokens,
        IReadOnlyList<(string Stage, bool Agreed)> Agreements);

    /// <summary>Evaluates <paramref name="mode"/> at <paramref name="n"/> candidates; question i is searched with seed <paramref name="seed"/> + i.</summary>
    public async Task<ModeResult> RunAsync(IReadOnlyList<EvalItem> items, ReasoningMode mode, int n, ulong seed, string? label = null,
        Action<int>? progress = null, CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        var outcomes = new Outcome[items.Count];
        var next = -1;
        var done = 0;
        await Task.WhenAll(reasoners.Select(async reasoner =>
        {
            for (var i = Interlocked.Increment(ref next); i < items.Count; i = Interlocked.Increment(ref next))
            {
                outcomes[i] = await AskAsync(reasoner, items[i], mode, n, seed + (ulong)i, ct);
                progress?.Invoke(Interlocked.Increment(ref done));
            }
        }));

        var correct = outcomes.Select(x => x.Correct).ToList();
        var hits = correct.Count(c => c);
        var (low, high) = Interval.Wilson(hits, correct.Count);
        var captions = outcomes.Where(x => x.CaptionRight is not null).ToList();
        var agreement = outcomes.SelectMany(x => x.Agreements).GroupBy(a => a.Stage)
            .ToDictionary(g => g.Key, g => new StageAgreement(g.Count(), g.Count(a => a.Agreed)));
        var byType = items.Select((item, i) => (item.Type, Right: correct[i])).Where(x => x.Type is not null)
            .GroupBy(x => x.Type!).ToDictionary(g => g.Key, g => g.Average(x => x.Right ? 1.0 : 0.0));
        return new ModeResult(ReasoningModes.Name(mode), n, label ?? $"{ReasoningModes.Name(mode)} N={n}", correct.Count,
            correct.Count == 0 ? 0 : hits / (double)correct.Count, low, high,
            correct.Count == 0 ? 0 : outcomes.Count(x => x.TagsOk) / (double)correct.Count,
            captions.Count == 0 ? null : captions.Count(x => x.CaptionRight == true) / (double)captions.Count,
            agreement, outcomes.Sum(x => x.Tokens), outcomes.Sum(x => x.JudgeTokens), clock.Elapsed.TotalSeconds, correct, byType,
            outcomes.Select(x => x.Text).ToList());
    }

    /// <summary>One search, graded; a judge comparison counts for agreement when exactly one of its two candidates is right.</summary>
    private async Task<Outcome> AskAsync(Reasoner reasoner, EvalItem item, ReasoningMode mode, int n, ulong seed, CancellationToken ct)
    {
        var request = new ReasonRequest(item.Id, item.Image, item.Question, new ReasonOptions
        {
            Mode = mode, BeamSize = n, Seed = seed, MaxNewTokens = maxNewTokens, Date = date,
        });
        var candidates = new Dictionary<(int Index, int Candidate), string>();
        var agreements = new List<(string, bool)>();
        ReasonResult? result = null;
        await foreach (var e in reasoner.ReasonAsync(request, ct))
        {
            switch (e)
            {
                case CandidateFinished c:
                    candidates[(c.Index, c.Candidate)] = c.Text;
                    break;
                case JudgeComparison j when Grading.StageRight(j.Stage, candidates[(j.Index, j.First)], item) is { } first
                                           && Grading.StageRight(j.Stage, candidates[(j.Index, j.Second)], item) is { } second
                                           && first != second:
                    agreements.Add((j.Stage, j.Winner == (first ? j.First : j.Second)));
                    break;
                case FinalAnswer f:
                    result = f.Result;
                    break;
                case ReasonError error:
                    throw new InvalidOperationException($"question {item.Id}: {error.Message}", error.Cause);
            }
        }
        var answer = result ?? throw new InvalidOperationException($"question {item.Id}: the search ended without an answer");
        return new Outcome(answer.Text, item.IsCorrect(answer.Conclusion), Grading.TagsOk(answer.Text), Grading.StageRight("caption", answer.Text, item),
            answer.GeneratedTokens, answer.JudgeTokens, agreements);
    }
}
