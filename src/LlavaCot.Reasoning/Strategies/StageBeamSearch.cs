using LlavaCot.Reasoning.Judging;

namespace LlavaCot.Reasoning.Strategies;

/// <summary>
/// LLaVA-CoT's stage-level beam search (§3): for each stage, N candidates continue the survivor's full token
/// sequence and stop at the stage's closing tag; the knockout judge (type = stage name) keeps one.
/// </summary>
public sealed class StageBeamSearch : IReasoningStrategy
{
    public async Task<ReasonResult> RunAsync(SearchContext context)
    {
        var ids = context.Session.PromptIds;
        var text = "";
        Candidate? answer = null;
        var stages = new List<StageResult>();
        for (var i = 0; i < Answers.Stages.Count; i++)
        {
            var (name, _, close) = Answers.Stages[i];
            var type = Enum.Parse<JudgeType>(name, ignoreCase: true);
            var (winner, result) = await context.StageAsync(name, i, ids, context.Options.BeamSize, context.StageStop([close]), type);
            stages.Add(result);
            ids = winner.Ids;
            text = winner.Text;
            answer = winner;
            if (context.AnswerEnds(text))
                break;
        }
        return context.Result(text, stages, logProbs: context.LogProbsOf(answer));
    }
}
