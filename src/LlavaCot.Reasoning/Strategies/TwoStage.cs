using LlavaCot.Reasoning.Judging;

namespace LlavaCot.Reasoning.Strategies;

/// <summary>
/// Two-stage rationale → answer (the Multimodal-CoT protocol on the same model): call 1 is the normal LLaVA-CoT
/// prompt stopped at &lt;/REASONING&gt;; its text is the rationale. Call 2 is a fresh image+text prompt asking for the
/// answer given the rationale; its output is the answer.
/// </summary>
public sealed class TwoStage : IReasoningStrategy
{
    public static string AnswerPrompt(string question, string rationale) =>
        $"{question}\n\nRationale: {rationale}\n\nAnswer the question based on the rationale.";

    public async Task<ReasonResult> RunAsync(SearchContext context)
    {
        var (rationale, first) = await context.StageAsync("rationale", 0, context.Session.PromptIds, 1,
            context.StageStop([Answers.ReasoningEnd]), JudgeType.All);

        var started = context.Clock.Elapsed;
        await context.EmitAsync(new Events.StageStarted("answer", 1, 1));
        var request = new CompletionRequest(AnswerPrompt(context.Request.Question, rationale.Text),
            WithImage: context.Request.Image is not null, context.StageStop([]), context.Options.Sampling, context.Seeds.Next())
        {
            TopLogProbs = context.Options.TopLogProbs,
        };
        var answer = await context.Session.CompleteAsync(request,
            delta => context.EmitDelta(new Events.TokenDelta("answer", 1, 0, delta)), context.Cancellation);
        context.CountGenerated(answer.Tokens);
        await context.EmitAsync(new Events.CandidateFinished("answer", 1, 0, answer.Text, answer.Tokens, answer.StopReason));
        await context.EmitAsync(new Events.StageWinner("answer", 1, 0, answer.Text) { LogProbs = answer.LogProbs });
        var second = new StageResult("answer", 0, answer.Text, [answer.Tokens], [], (context.Clock.Elapsed - started).TotalSeconds);
        return context.Result(answer.Text, [first, second], Answers.Conclusion(answer.Text), answer.LogProbs);
    }
}
