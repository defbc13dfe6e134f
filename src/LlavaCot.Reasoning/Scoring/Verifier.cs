using LlavaCot.Reasoning.Judging;

namespace LlavaCot.Reasoning.Scoring;

/// <summary>A candidate's verifier score and how it was reached.</summary>
/// <param name="Score">P(correct) normalised over the two verdicts, in 0..1; 0 for a candidate lacking its tags.</param>
/// <param name="LogProbCorrect">log P("correct") as the reply, all its tokens together; null without a call.</param>
/// <param name="Decision">verifier (scored), missing_tags (no call: it loses to any scored candidate) or identical (the
/// score of an earlier candidate with the same ids).</param>
/// <param name="Tokens">Tokens the scoring ran through the model or found cached (0 without a call).</param>
public sealed record VerifierScore(double Score, double? LogProbCorrect, double? LogProbIncorrect, string Decision, int Tokens);

/// <summary>
/// Scores candidates one by one, with the probability that the model's reply to a verification prompt
/// (<see cref="VerifierPrompts"/>) is "correct" rather than "incorrect", read at the reply's first position with no
/// decoding. A verdict word of several tokens counts with the probability of all its tokens, each given the ones before
/// it (teacher-forced); the two words' probabilities are then normalised to sum to 1.
/// </summary>
public sealed class Verifier(Func<IReadOnlyList<ScoreRequest>, CancellationToken, Task<IReadOnlyList<ScoreResult>>> score)
{
    /// <summary>Scores each text as a candidate of <paramref name="type"/>, all requests in one batch.</summary>
    public async Task<IReadOnlyList<VerifierScore>> ScoreManyAsync(JudgeType type, string question, IReadOnlyList<string> texts,
        CancellationToken ct)
    {
        var requests = texts.Select(t => VerifierPrompts.For(type, question, t)).ToList();
        var asked = requests.OfType<ScoreRequest>().ToList();
        var results = asked.Count > 0 ? await score(asked, ct) : [];
        var next = 0;
        return requests.Select(r => r is null ? new VerifierScore(0, null, null, "missing_tags", 0) : Read(results[next++])).ToList();
    }

    private static VerifierScore Read(ScoreResult result)
    {
        var (correct, incorrect) = (result.LogProb(0), result.LogProb(1));
        // P(correct) / (P(correct) + P(incorrect)), computed stably from the log-probabilities.
        var score = 1 / (1 + Math.Exp(incorrect - correct));
        // Both words impossible (log-probabilities of -inf): no preference either way.
        return new VerifierScore(double.IsNaN(score) ? 0.5 : score, correct, incorrect, "verifier", result.Tokens);
    }
}
