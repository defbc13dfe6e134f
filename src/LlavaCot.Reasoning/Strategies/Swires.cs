using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Judging;

namespace LlavaCot.Reasoning.Strategies;

/// <summary>
/// The authors' SWIRES (§6), with our verifier as its reward model: one SUMMARY; then rounds of 4 CAPTIONs, of which
/// the 2 best-scored are kept, and 2 REASONINGs continuing each kept caption, every reasoning scored and added to one
/// list that is never reset. A round ends the loop once the list's second-best score is above the cutoff; otherwise the
/// search backtracks to new captions, at most 4 times. Then one CONCLUSION continues each of the 3 best reasonings, and
/// the best-scored whole answer wins. Its shape is fixed: beam_size does not apply. A round reports its captions as
/// kept; the answer's caption and reasoning are reported as winners with its conclusion, once the chain is known.
/// </summary>
public sealed class Swires : IReasoningStrategy
{
    public const int Captions = 4, KeptCaptions = 2, ReasoningsPerCaption = 2, MaxBacktracks = 4, Conclusions = 3;

    /// <summary>A candidate and where it stands: its stage's index and its number there.</summary>
    private sealed record Placed(Candidate Candidate, int Index, int Number);

    /// <summary>A reasoning kept in the list: where it stands, the caption it continues, its score and the tokens of its chain.</summary>
    private sealed record Scored(Placed Reasoning, Placed Caption, double Score, int ChainTokens);

    public async Task<ReasonResult> RunAsync(SearchContext context)
    {
        var stages = new List<StageResult>();
        var (summary, summaryResult) = await context.StageAsync("summary", 0, context.Session.PromptIds, 1,
            context.StageStop([Answers.Stages[0].Close]), JudgeType.Summary);
        stages.Add(summaryResult);
        if (context.AnswerEnds(summary.Text))
            return context.Result(summary.Text, stages, logProbs: context.LogProbsOf(summary));

        var index = 1;
        var reasonings = new List<Scored>();
        for (var round = 0; ; round++)
        {
            // Captions: 4 from the summary, the best 2 kept.
            var started = context.Clock.Elapsed;
            var captionIndex = index++;
            await context.EmitAsync(new StageStarted("caption", captionIndex, Captions));
            var captions = await context.SampleAsync("caption", captionIndex, summary.Ids, Captions, context.StageStop([Answers.Stages[1].Close]));
            var captionScores = await context.ScoreAsync("caption", captionIndex, captions, JudgeType.Caption);
            var kept = SearchContext.Ranked(captionScores).Take(KeptCaptions).ToList();
            await context.EmitAsync(new StageKept("caption", captionIndex, kept));
            stages.Add(context.Summary("caption", captionIndex, captions, kept[0], started, scores: captionScores));

            // Reasonings: 2 from each kept caption, all scored into the list.
            started = context.Clock.Elapsed;
            var reasoningIndex = index++;
            await context.EmitAsync(new StageStarted("reasoning", reasoningIndex, KeptCaptions * ReasoningsPerCaption));
            var chains = kept.Select(k => summary.NewTokens + captions[k].NewTokens).ToList();
            var groups = kept.Select((k, g) => (captions[k].Ids, context.StageStop([Answers.Stages[2].Close], spent: chains[g]))).ToList();
            var sampled = await context.SampleAsync("reasoning", reasoningIndex, groups, ReasoningsPerCaption);
            var scores = await context.ScoreAsync("reasoning", reasoningIndex, sampled, JudgeType.Reasoning);
            for (var i = 0; i < sampled.Count; i++)
            {
                var caption = kept[i / ReasoningsPerCaption];
                reasonings.Add(new Scored(new Placed(sampled[i], reasoningIndex, i), new Placed(captions[caption], captionIndex, caption), scores[i],
                    chains[i / ReasoningsPerCaption] + sampled[i].NewTokens));
            }
            stages.Add(context.Summary("reasoning", reasoningIndex, sampled, SearchContext.Ranked(scores)[0], started, scores: scores));

            var ranking = Ranked(reasonings);
            var secondBest = ranking[1].Score;
            var again = secondBest <= context.SwiresCutoff && round < MaxBacktracks;
            await context.EmitAsync(new SwiresRound(round, reasoningIndex,
                ranking.Select(r => new RankedCandidate(r.Reasoning.Index, r.Reasoning.Number, r.Score)).ToList(), secondBest, context.SwiresCutoff, again));
            if (!again)
                break;
        }

        // Conclusions: one from each of the 3 best reasonings; the best-scored whole answer wins.
        var best = Ranked(reasonings).Take(Conclusions).ToList();
        var conclusionIndex = index;
        var begun = context.Clock.Elapsed;
        await context.EmitAsync(new StageStarted("conclusion", conclusionIndex, best.Count));
        var conclusions = await context.SampleAsync("conclusion", conclusionIndex,
            best.Select(r => (r.Reasoning.Candidate.Ids, context.StageStop([Answers.ConclusionEnd], spent: r.ChainTokens))).ToList(), 1);
        var answerScores = await context.ScoreAsync("conclusion", conclusionIndex, conclusions, JudgeType.All);
        var winner = SearchContext.Ranked(answerScores)[0];
        // The answer's chain: the caption and the reasoning its conclusion continues, reported in the answer's order.
        foreach (var (stage, part) in new[] { ("caption", best[winner].Caption), ("reasoning", best[winner].Reasoning) })
        {
            await context.EmitAsync(new StageWinner(stage, part.Index, part.Number, part.Candidate.NewText) { LogProbs = part.Candidate.LogProbs });
            context.Spend(part.Candidate.NewTokens);
        }
        var (answer, result) = await context.WinnerAsync("conclusion", conclusionIndex, conclusions, winner, begun, scores: answerScores);
        stages.Add(result);
        return context.Result(answer.Text, stages, logProbs: context.LogProbsOf(answer));
    }

    /// <summary>The list best first; equal scores keep the earlier reasoning first.</summary>
    private static List<Scored> Ranked(List<Scored> list) =>
        list.Select((r, order) => (r, order)).OrderByDescending(x => x.r.Score).ThenBy(x => x.order).Select(x => x.r).ToList();
}
