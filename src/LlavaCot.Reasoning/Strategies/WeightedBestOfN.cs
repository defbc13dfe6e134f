using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Judging;
using LlavaCot.Reasoning.Scoring;

namespace LlavaCot.Reasoning.Strategies;

/// <summary>
/// Best-of-N with the weighted vote (as huggingface/search-and-learn's weighted best-of-N): N whole answers, each scored
/// by the verifier; each distinct CONCLUSION sums its candidates' P(correct), the highest sum wins (a tie: the answer
/// given first), and its best-scored candidate is the answer.
/// </summary>
public sealed class WeightedBestOfN : IReasoningStrategy
{
    public async Task<ReasonResult> RunAsync(SearchContext context)
    {
        const string stage = SearchContext.AnswerStage;
        var started = context.Clock.Elapsed;
        var candidates = await context.SampleAnswersAsync();
        var scores = await context.ScoreAsync(stage, 0, candidates, JudgeType.All);
        var tallies = Votes.Tally(candidates.Select(c => c.Text).ToList(), scores);
        var best = Votes.Leaders(tallies)[0];
        var winner = best.Candidates.OrderByDescending(i => scores[i]).ThenBy(i => i).First();
        await context.EmitAsync(new VoteCounted(stage, 0, tallies, winner, "weighted"));
        var (chosen, result) = await context.WinnerAsync(stage, 0, candidates, winner, started, scores: scores);
        return context.Result(chosen.Text, [result], logProbs: context.LogProbsOf(chosen));
    }
}
