using System.Diagnostics;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Scoring;

namespace LlavaCot.Training.Eval;

/// <summary>One row (a mode at N with a scorer) over a question set.</summary>
public sealed record ModeResult
{
    public required string Mode { get; init; }
    public required int N { get; init; }
    public required string Label { get; init; }

    /// <summary>none, pairwise or verifier.</summary>
    public required string Scorer { get; init; }

    /// <summary>A single pass at temperature 0.</summary>
    public bool Greedy { get; init; }

    /// <summary>Every image was replaced by a blank one (not compared with the other rows).</summary>
    public bool Blank { get; init; }

    /// <summary>Whether the row is on its mode and scorer's line over N (<see cref="EvalRow.Scales"/>).</summary>
    public bool Scales { get; init; }

    public required int Count { get; init; }
    public required double Accuracy { get; init; }
    public required double CiLow { get; init; }
    public required double CiHigh { get; init; }
    public required double TagsOk { get; init; }

    /// <summary>Share of final answers whose caption lists exactly the reference's shapes (null without references).</summary>
    public double? CaptionOk { get; init; }

    /// <summary>Per stage (and "vote"): how often the scorer preferred the right one of a right and a wrong candidate.</summary>
    public required IReadOnlyDictionary<string, StageAgreement> JudgeAgreement { get; init; }

    /// <summary>Candidate tokens the searches generated (every stage's candidates, not judge replies).</summary>
    public required long Tokens { get; init; }

    public required long JudgeTokens { get; init; }
    public long JudgeCalls { get; init; }
    public long ScoreCalls { get; init; }
    public long ScoreTokens { get; init; }

    /// <summary>Tokens run through decode steps: every candidate and judge reply (the sessions' own count).</summary>
    public long DecodedTokens { get; init; }

    /// <summary>Prompt tokens run through prefill (judge and verifier prompts included; a cached prefix is not run again).</summary>
    public long PrefilledTokens { get; init; }

    public long VisionPasses { get; init; }

    /// <summary>Wall seconds of the row (with several workers, questions overlap).</summary>
    public required double Seconds { get; init; }

    /// <summary>The model threads' own seconds for the row, summed over the instances (null where not measured).</summary>
    public double? ModelSeconds { get; init; }

    /// <summary>Per stage, the verifier cutoff that best separates right from wrong candidates (verifier rows).</summary>
    public IReadOnlyDictionary<string, VerifierCutoff> Cutoffs { get; init; } = new Dictionary<string, VerifierCutoff>();

    /// <summary>Per question, in order: the answer was right (for paired comparisons).</summary>
    public required IReadOnlyList<bool> Correct { get; init; }

    public required IReadOnlyDictionary<string, double> AccuracyByType { get; init; }

    /// <summary>Per question, in order: the final answer's whole text.</summary>
    public required IReadOnlyList<string> Texts { get; init; }

    /// <summary>The median of the questions' own search times (wall seconds from request to answer).</summary>
    public double MedianSecondsPerQuestion { get; init; }

    /// <summary>Model seconds per question, else wall seconds per question.</summary>
    public double SecondsPerQuestion => (ModelSeconds ?? Seconds) / Math.Max(1, Count);

    public double PerQuestion(long total) => (double)total / Math.Max(1, Count);
}

/// <summary>What an evaluation reads and resets of the models that answer it.</summary>
/// <param name="Seconds">The models' own time so far (their phase counters, summed over the instances): a row's model
/// seconds are its difference.</param>
/// <param name="ClearCaches">Empties the models' image-feature and prompt-prefix caches.</param>
public sealed record ModelAccounting(Func<double> Seconds, Func<Task> ClearCaches);

/// <summary>
/// Runs searches over a question set and grades them: accuracy, well-formed tags, scorer agreement, cost. With several
/// reasoners (model instances on their own threads) questions run concurrently, one per reasoner; question i is always
/// searched with the same seed, so the results do not depend on how many run at once.
/// </summary>
/// <param name="models">What the evaluator reads and resets of the models behind the reasoners; null: nothing (no model
/// seconds).</param>
public sealed class Evaluator(IReadOnlyList<Reasoner> reasoners, int maxNewTokens, DateOnly date, ModelAccounting? models = null)
{
    public Evaluator(Reasoner reasoner, int maxNewTokens, DateOnly date) : this([reasoner], maxNewTokens, date)
    {
    }

    /// <summary>What one question's search gave.</summary>
    private sealed record Outcome(string Text, bool Correct, bool TagsOk, bool? CaptionRight, ReasonResult Result, IReadOnlyList<AgreementPair> Agreements,
        IReadOnlyList<ScoredCandidate> Scored);

    /// <summary>
    /// Each reasoner answers <paramref name="item"/> once, unrecorded: a model's first passes pay one-time costs (kernel
    /// set-up, allocations) that would otherwise land on the first row's seconds.
    /// </summary>
    public Task WarmUpAsync(EvalItem item, CancellationToken ct = default) =>
        Task.WhenAll(reasoners.Select(reasoner => AskAsync(reasoner, item, new EvalRow(ReasoningMode.Single, 1, ScorerKind.None, "warm-up"), 1, ct)));

    /// <summary>
    /// Evaluates one row; question i is searched with seed <paramref name="seed"/> + i. The models' caches are emptied
    /// first, so that the row pays for its own images and prompts whatever rows ran before it on the same questions.
    /// </summary>
    public async Task<ModeResult> RunAsync(IReadOnlyList<EvalItem> items, EvalRow row, ulong seed, Action<int>? progress = null,
        CancellationToken ct = default)
    {
        if (models is not null)
            await models.ClearCaches();
        var clock = Stopwatch.StartNew();
        var modelBefore = models?.Seconds();
        var outcomes = new Outcome[items.Count];
        var next = -1;
        var done = 0;
        await Task.WhenAll(reasoners.Select(async reasoner =>
        {
            for (var i = Interlocked.Increment(ref next); i < items.Count; i = Interlocked.Increment(ref next))
            {
                outcomes[i] = await AskAsync(reasoner, items[i], row, seed + (ulong)i, ct);
                progress?.Invoke(Interlocked.Increment(ref done));
            }
        }));
        var model = models?.Seconds() - modelBefore;

        var correct = outcomes.Select(x => x.Correct).ToList();
        var hits = correct.Count(c => c);
        var (low, high) = Interval.Wilson(hits, correct.Count);
        var captions = outcomes.Where(x => x.CaptionRight is not null).ToList();
        var byType = items.Select((item, i) => (item.Type, Right: correct[i])).Where(x => x.Type is not null)
            .GroupBy(x => x.Type!).ToDictionary(g => g.Key, g => g.Average(x => x.Right ? 1.0 : 0.0));
        var results = outcomes.Select(x => x.Result).ToList();
        return new ModeResult
        {
            Mode = ReasoningModes.Name(row.Mode), N = row.N, Label = row.Label, Scorer = Scorers.Name(row.Scorer), Greedy = row.Greedy,
            Blank = row.Blank, Scales = row.Scales, Count = correct.Count,
            Accuracy = correct.Count == 0 ? 0 : hits / (double)correct.Count, CiLow = low, CiHigh = high,
            TagsOk = correct.Count == 0 ? 0 : outcomes.Count(x => x.TagsOk) / (double)correct.Count,
            CaptionOk = captions.Count == 0 ? null : captions.Count(x => x.CaptionRight == true) / (double)captions.Count,
            JudgeAgreement = AgreementCounter.Totals(outcomes.SelectMany(x => x.Agreements)),
            Cutoffs = outcomes.SelectMany(x => x.Scored).GroupBy(c => c.Stage)
                .Select(g => (g.Key, Cutoff: VerifierCutoff.Best(g.ToList()))).Where(g => g.Cutoff is not null).ToDictionary(g => g.Key, g => g.Cutoff!),
            Tokens = results.Sum(r => (long)r.GeneratedTokens), JudgeTokens = results.Sum(r => (long)r.JudgeTokens),
            JudgeCalls = results.Sum(r => (long)r.JudgeCalls), ScoreCalls = results.Sum(r => (long)r.ScoreCalls),
            ScoreTokens = results.Sum(r => (long)r.ScoreTokens),
            DecodedTokens = results.Sum(r => r.Cost?.DecodedTokens ?? 0), PrefilledTokens = results.Sum(r => r.Cost?.PrefilledTokens ?? 0),
            VisionPasses = results.Sum(r => r.Cost?.VisionPasses ?? 0),
            Seconds = clock.Elapsed.TotalSeconds, ModelSeconds = model,
            MedianSecondsPerQuestion = results.Count == 0 ? 0 : Stats.Median(results.Select(r => r.ElapsedSeconds).ToList()),
            Correct = correct, AccuracyByType = byType, Texts = outcomes.Select(x => x.Text).ToList(),
        };
    }

    /// <summary>One search, graded, with its scorer's preferences over right/wrong candidate pairs (<see cref="AgreementCounter"/>).</summary>
    private async Task<Outcome> AskAsync(Reasoner reasoner, EvalItem item, EvalRow row, ulong seed, CancellationToken ct)
    {
        var request = new ReasonRequest(item.Id, item.Image, item.Question, new ReasonOptions
        {
            Mode = row.Mode, BeamSize = row.N, Seed = seed, MaxNewTokens = maxNewTokens, Date = date,
            Scorer = row.Scorer == ScorerKind.None ? null : row.Scorer,
            Sampling = row.Greedy ? SamplingOptions.Greedy : SamplingOptions.Default,
        });
        var agreement = new AgreementCounter(item);
        ReasonResult? result = null;
        await foreach (var e in reasoner.ReasonAsync(request, ct))
        {
            agreement.Add(e);
            switch (e)
            {
                case FinalAnswer f:
                    result = f.Result;
                    break;
                case ReasonError error:
                    throw new InvalidOperationException($"question {item.Id}: {error.Message}", error.Cause);
            }
        }
        var answer = result ?? throw new InvalidOperationException($"question {item.Id}: the search ended without an answer");
        return new Outcome(answer.Text, item.IsCorrect(answer.Conclusion), Grading.TagsOk(answer.Text), Grading.StageRight("caption", answer.Text, item),
            answer, agreement.Pairs(), agreement.Scored());
    }
}
