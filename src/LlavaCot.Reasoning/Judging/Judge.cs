namespace LlavaCot.Reasoning.Judging;

/// <summary>A prompt the judge sent and the reply it got.</summary>
public sealed record JudgeCall(bool WithImage, string Prompt, string Reply, int Tokens);

/// <param name="Winner">0: the first candidate wins; 1: the second.</param>
/// <param name="Decision">judge (the pairwise prompt decided), incorrect_reasoning (the pre-check decided) or missing_tags.</param>
public sealed record JudgeVerdict(int Winner, string Decision, IReadOnlyList<JudgeCall> Calls);

/// <summary>
/// LLaVA-CoT's self-judge (§4): the same model compares two candidates. Deviation from the reference, where it
/// would crash or compare fewer than two responses: a candidate lacking what its type needs loses without a
/// judge call; if both lack it, the second wins (the reference's default).
/// </summary>
public sealed class Judge(Func<CompletionRequest, CancellationToken, Task<Completion>> complete, SamplingOptions sampling,
    int maxNewTokens, SeedStream seeds, bool wholeTextFallback = false, bool ignoreEos = false)
{
    private const string ChoosesFirst = "I choose response 1";
    private const string Incorrect = "incorrect";

    public async Task<JudgeVerdict> CompareAsync(JudgeType type, string question, string first, string second, CancellationToken ct)
    {
        var a = Extract(type, first);
        var b = Extract(type, second);
        if (a is null || b is null)
            return new JudgeVerdict(a is null ? 1 : 0, "missing_tags", []);

        // The reference keeps the hint of the last candidate that set one.
        var hint = b.Hint ?? a.Hint;
        var calls = new List<JudgeCall>();
        if (type == JudgeType.Reasoning)
        {
            var firstCheck = await AskAsync(JudgePrompts.PreCheck(hint ?? "", a.Content), withImage: false, calls, ct);
            if (firstCheck.Contains(Incorrect, StringComparison.Ordinal))
                return new JudgeVerdict(1, "incorrect_reasoning", calls);
            var secondCheck = await AskAsync(JudgePrompts.PreCheck(hint ?? "", b.Content), withImage: false, calls, ct);
            if (secondCheck.Contains(Incorrect, StringComparison.Ordinal))
                return new JudgeVerdict(0, "incorrect_reasoning", calls);
        }
        var reply = await AskAsync(JudgePrompts.Comparison(type, question, hint, [a.Content, b.Content]), withImage: true, calls, ct);
        return new JudgeVerdict(reply.Contains(ChoosesFirst, StringComparison.Ordinal) ? 0 : 1, "judge", calls);
    }

    private JudgeExtraction? Extract(JudgeType type, string text) =>
        JudgeExtraction.From(type, text) ?? (wholeTextFallback ? new JudgeExtraction(text, null) : null);

    private async Task<string> AskAsync(string prompt, bool withImage, List<JudgeCall> calls, CancellationToken ct)
    {
        var stop = StopCondition.EosOnly(maxNewTokens) with { IgnoreEos = ignoreEos };
        var completion = await complete(new CompletionRequest(prompt, withImage, stop, sampling, seeds.Next(), KeepSpecialTokens: true), ct);
        calls.Add(new JudgeCall(withImage, prompt, completion.Text, completion.Tokens));
        return completion.Text;
    }
}
