using LlavaCot.Reasoning.Judging;

namespace LlavaCot.Reasoning.Strategies;

/// <summary>Best-of-N (§5): N whole answers stopped at &lt;/CONCLUSION&gt;, one knockout with judge type "all".</summary>
public sealed class BestOfN : IReasoningStrategy
{
    public async Task<ReasonResult> RunAsync(SearchContext context)
    {
        var (winner, result) = await context.StageAsync("answer", 0, context.Session.PromptIds, context.Options.BeamSize,
            context.StageStop([Answers.ConclusionEnd]), JudgeType.All);
        return context.Result(winner.Text, [result], logProbs: context.LogProbsOf(winner));
    }
}
