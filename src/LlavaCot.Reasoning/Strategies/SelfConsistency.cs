using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Judging;
using LlavaCot.Reasoning.Scoring;

namespace LlavaCot.Reasoning.Strategies;

/// <summary>
/// Self-consistency: N whole answers, and the CONCLUSION given most often (normalised, <see cref="Votes.Normalise"/>)
/// wins, with the first candidate that gave it. Only a tie asks the scorer: the verifier scores the tied answers'
/// candidates and the best one's answer wins; the pairwise judge runs a knockout over each tied answer's first candidate.
/// </summary>
public sealed class SelfConsistency : IReasoningStrategy
{
    public async Task<ReasonResult> RunAsync(SearchContext context)
    {
        const string stage = SearchContext.AnswerStage;
        var started = context.Clock.Elapsed;
        var candidates = await context.SampleAnswersAsync();
        var tallies = Votes.Tally(candidates.Select(c => c.Text).ToList());
        var leaders = Votes.Leaders(tallies);
        int winner;
        IReadOnlyList<StageVerdict> verdicts = [];
        if (leaders.Count == 1)
            winner = leaders[0].Candidates[0];
        else if (context.Scorer == ScorerKind.Verifier)
        {
            var tied = leaders.SelectMany(t => t.Candidates).Order().ToList();
            var tiedScores = await context.ScoreAsync(stage, 0, tied.Select(i => candidates[i]).ToList(), JudgeType.All, tied);
            winner = tied[SearchContext.Ranked(tiedScores)[0]];
        }
        else
            (winner, verdicts) = await context.KnockoutAsync(stage, 0, candidates, JudgeType.All, leaders.Select(t => t.Candidates[0]).ToList());
        await context.EmitAsync(new VoteCounted(stage, 0, tallies, winner, leaders.Count == 1 ? "majority" : "tie"));
        var (chosen, result) = await context.WinnerAsync(stage, 0, candidates, winner, started, verdicts);
        return context.Result(chosen.Text, [result], logProbs: context.LogProbsOf(chosen));
    }
}
