using LlavaCot.Reasoning.Judging;

namespace LlavaCot.Reasoning.Strategies;

/// <summary>No inference-time scaling: one answer, stopped at &lt;/CONCLUSION&gt; or EOS, no judge.</summary>
public sealed class SinglePass : IReasoningStrategy
{
    public async Task<ReasonResult> RunAsync(SearchContext context)
    {
        var (winner, result) = await context.StageAsync("answer", 0, context.Session.PromptIds, 1,
            context.StageStop([Answers.ConclusionEnd]), JudgeType.All);
        return context.Result(winner.Text, [result], logProbs: context.LogProbsOf(winner));
    }
}
