using LlavaCot.Reasoning.Judging;

namespace LlavaCot.Reasoning.Strategies;

/// <summary>
/// Sentence-level beam (§5): until &lt;/CONCLUSION&gt; appears, N candidates each write up to the next '.', the
/// knockout (judge type "sentence") keeps one. Unlike the reference, it also ends when the survivor stopped at EOS
/// or the total budget of max_new_tokens is spent, so it cannot loop forever.
/// </summary>
public sealed class SentenceBeamSearch : IReasoningStrategy
{
    public async Task<ReasonResult> RunAsync(SearchContext context)
    {
        var ids = context.Session.PromptIds;
        var text = "";
        Candidate? answer = null;
        var stages = new List<StageResult>();
        var spent = 0;
        for (var i = 0; !text.Contains(Answers.ConclusionEnd, StringComparison.Ordinal); i++)
        {
            var stop = context.StageStop([Answers.ConclusionEnd], stopAtPeriod: true) with { MaxNewTokens = context.Options.MaxNewTokens - spent };
            var (winner, result) = await context.StageAsync("sentence", i, ids, context.Options.BeamSize, stop, JudgeType.Sentence);
            stages.Add(result);
            ids = winner.Ids;
            text = winner.Text;
            answer = winner;
            spent += winner.NewTokens;
            if (winner.StopReason == StopReason.EndOfSequence || spent >= context.Options.MaxNewTokens || winner.NewTokens == 0
                || context.AnswerEnds(text))
                break;
        }
        return context.Result(text, stages, logProbs: context.LogProbsOf(answer));
    }
}
