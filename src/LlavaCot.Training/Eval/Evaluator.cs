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
/// <param name="CaptionOk">Share of final answers whose caption lists exactly the reference's shapes (null without references).</param>
public sealed record ModeResult(
    string Mode, int N, string Label, int Count, double Accuracy, double CiLow, double CiHigh, double TagsOk, double? CaptionOk,
    IReadOnlyDictionary<string, StageAgreement> JudgeAgreement, long Tokens, long JudgeTokens, double Seconds,
    IReadOnlyList<bool> Correct, IReadOnlyDictionary<string, double> AccuracyByType);

/// <summary>Runs searches over a question set and grades them: accuracy, well-formed tags, judge agreement, cost.</summary>
public sealed class Evaluator(Reasoner reasoner, int maxNewTokens, DateOnly date)
{
    /// <summary>Evaluates <paramref name="mode"/> at <paramref name="n"/> candidates; question i is searched with seed <paramref name="seed"/> + i.</summary>
    public async Task<ModeResult> RunAsync(IReadOnlyList<EvalItem> items, ReasoningMode mode, int n, ulong seed, string? label = null,
        Action<int>? progress = null, CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        var correct = new List<bool>();
        var tags = 0;
        var captions = 0;
        var referenced = 0;
        long tokens = 0, judgeTokens = 0;
        var agreement = new Dictionary<string, (int Comparisons, int Agreed)>();
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var request = new ReasonRequest(item.Id, item.Image, item.Question, new ReasonOptions
            {
                Mode = mode, BeamSize = n, Seed = seed + (ulong)i, MaxNewTokens = maxNewTokens, Date = date,
            });
            var candidates = new Dictionary<(int Index, int Candidate), string>();
            var stages = new Dictionary<int, string>();
            ReasonResult? result = null;
            await foreach (var e in reasoner.ReasonAsync(request, ct))
            {
                switch (e)
                {
                    case StageStarted s:
                        stages[s.Index] = s.Stage;
                        break;
                    case CandidateFinished c:
                        candidates[(c.Index, c.Candidate)] = c.Text;
                        break;
                    case JudgeComparison j when Grading.StageRight(j.Stage, candidates[(j.Index, j.First)], item) is { } first
                                               && Grading.StageRight(j.Stage, candidates[(j.Index, j.Second)], item) is { } second
                                               && first != second:
                        var (total, agreed) = agreement.GetValueOrDefault(j.Stage);
                        var right = first ? j.First : j.Second;
                        agreement[j.Stage] = (total + 1, agreed + (j.Winner == right ? 1 : 0));
                        break;
                    case FinalAnswer f:
                        result = f.Result;
                        break;
                    case ReasonError error:
                        throw new InvalidOperationException($"question {item.Id}: {error.Message}", error.Cause);
                }
            }
            var answer = result ?? throw new InvalidOperationException($"question {item.Id}: the search ended without an answer");
            correct.Add(item.IsCorrect(answer.Conclusion));
            tags += Grading.TagsOk(answer.Text) ? 1 : 0;
            if (Grading.StageRight("caption", answer.Text, item) is { } captionRight)
            {
                referenced++;
                captions += captionRight ? 1 : 0;
            }
            tokens += answer.GeneratedTokens;
            judgeTokens += answer.JudgeTokens;
            progress?.Invoke(i + 1);
        }
        var hits = correct.Count(c => c);
        var (low, high) = Interval.Wilson(hits, correct.Count);
        var byType = items.Select((item, i) => (item.Type, Right: correct[i])).Where(x => x.Type is not null)
            .GroupBy(x => x.Type!).ToDictionary(g => g.Key, g => g.Average(x => x.Right ? 1.0 : 0.0));
        return new ModeResult(ReasoningModes.Name(mode), n, label ?? $"{ReasoningModes.Name(mode)} N={n}", correct.Count,
            correct.Count == 0 ? 0 : hits / (double)correct.Count, low, high, correct.Count == 0 ? 0 : tags / (double)correct.Count,
            referenced == 0 ? null : captions / (double)referenced,
            agreement.ToDictionary(p => p.Key, p => new StageAgreement(p.Value.Comparisons, p.Value.Agreed)),
            tokens, judgeTokens, clock.Elapsed.TotalSeconds, correct, byType);
    }
}
