namespace LlavaCot.Reasoning.Judging;

/// <summary>A prompt the judge sent and the reply it got.</summary>
/// <param name="Used">False for a call that ran in a batch although an earlier call of its comparison (a pre-check) had
/// already decided: its tokens were generated (and are counted) but the reference would not have made the call.</param>
public sealed record JudgeCall(bool WithImage, string Prompt, string Reply, int Tokens, bool Used = true);

/// <param name="Winner">0: the first candidate wins; 1: the second.</param>
/// <param name="Decision">judge (the pairwise prompt decided), incorrect_reasoning (the pre-check decided) or missing_tags.</param>
/// <param name="ElapsedSeconds">Wall time from the comparison's first call to its verdict (a batch's calls run together).</param>
public sealed record JudgeVerdict(int Winner, string Decision, IReadOnlyList<JudgeCall> Calls, double ElapsedSeconds = 0);

/// <summary>
/// LLaVA-CoT's self-judge (§4): the same model compares two candidates. Deviation from the reference, where it
/// would crash or compare fewer than two responses: a candidate lacking what its type needs loses without a
/// judge call; if both lack it, the second wins (the reference's default).
/// <para>
/// Each comparison takes a block of three seeds (pre-check 1, pre-check 2, pairwise prompt) whether it uses them
/// or not, so comparisons can also run as one batch — every call of every comparison at once, pre-checks and
/// pairwise prompts together — with the same outcome and calls as one after another. A call that an earlier one
/// made moot (a pre-check found its side incorrect) still ran: it is kept on record as unused, so its tokens count.
/// </para>
/// </summary>
public sealed class Judge(
    Func<IReadOnlyList<CompletionRequest>, CancellationToken, Task<IReadOnlyList<Completion>>> complete,
    SamplingOptions sampling, int maxNewTokens, SeedStream seeds, bool batch = false)
{
    private const string ChoosesFirst = "I choose response 1";
    private const string Incorrect = "incorrect";

    private sealed class Comparison(JudgeExtraction? first, JudgeExtraction? second, ulong[] seeds)
    {
        public JudgeExtraction? First { get; } = first;
        public JudgeExtraction? Second { get; } = second;
        public ulong[] Seeds { get; } = seeds;
        public string? Hint => Second?.Hint ?? First?.Hint; // the reference keeps the last candidate's hint
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

        public List<JudgeCall> Calls { get; } = [];
        public JudgeVerdict? Verdict { get; private set; }

        /// <summary>One at a time, a comparison's time starts with its own first call.</summary>
        public void Start() => _clock.Restart();

        public void Decide(int winner, string decision) => Verdict = new JudgeVerdict(winner, decision, Calls, _clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Judges several independent pairs (texts of the first and second candidate). <paramref name="identical"/>, where
    /// given, names per pair the side that wins without a call because both generated the same ids (null: judge it);
    /// such a comparison still draws its seeds, so every later call's seed is the same as when it is judged.
    /// </summary>
    public async Task<IReadOnlyList<JudgeVerdict>> CompareManyAsync(JudgeType type, string question,
        IReadOnlyList<(string First, string Second)> pairs, CancellationToken ct, IReadOnlyList<int?>? identical = null)
    {
        var comparisons = pairs.Select(p => new Comparison(JudgeExtraction.From(type, p.First), JudgeExtraction.From(type, p.Second),
            [seeds.Next(), seeds.Next(), seeds.Next()])).ToList();
        for (var i = 0; i < comparisons.Count; i++)
            if (identical?[i] is { } side)
                comparisons[i].Decide(side, "identical");
        foreach (var c in comparisons.Where(c => c.Verdict is null && (c.First is null || c.Second is null)))
            c.Decide(c.First is null ? 1 : 0, "missing_tags");
        var open = comparisons.Where(c => c.Verdict is null).ToList();
        // The reference's calls of a comparison, in its order: the reasoning type checks each side first.
        int[] sides = type == JudgeType.Reasoning ? [0, 1, Pairwise] : [Pairwise];
        if (batch && open.Count > 0)
        {
            var calls = open.SelectMany(c => sides.Select(side => (Comparison: c, Side: side, Request: CallRequest(type, question, c, side)))).ToList();
            var replies = await complete(calls.Select(k => k.Request).ToList(), ct);
            for (var i = 0; i < calls.Count; i++)
                Read(calls[i].Comparison, calls[i].Side, calls[i].Request, replies[i]);
        }
        else
        {
            foreach (var c in open)
            {
                c.Start();
                foreach (var side in sides.TakeWhile(_ => c.Verdict is null))
                {
                    var request = CallRequest(type, question, c, side);
                    Read(c, side, request, (await complete([request], ct))[0]);
                }
            }
        }
        return comparisons.Select(c => c.Verdict!).ToList();
    }

    // The call a comparison's third seed is for; sides 0 and 1 are the correctness checks of its first and second text.
    private const int Pairwise = 2;

    private CompletionRequest CallRequest(JudgeType type, string question, Comparison c, int side) => side == Pairwise
        ? Request(JudgePrompts.Comparison(type, question, c.Hint, [c.First!.Content, c.Second!.Content]), withImage: true, c.Seeds[side])
        : Request(JudgePrompts.PreCheck(c.Hint ?? "", (side == 0 ? c.First : c.Second)!.Content), withImage: false, c.Seeds[side]);

    private CompletionRequest Request(string prompt, bool withImage, ulong seed) =>
        new(prompt, withImage, StopCondition.EosOnly(maxNewTokens), sampling, seed, KeepSpecialTokens: true);

    /// <summary>
    /// Records a call's reply and, while the comparison is open, lets it decide as the reference does: a check that
    /// finds its side "incorrect" decides against it; the pairwise reply decides by "I choose response 1". A call a
    /// batch ran after the one that decided stays on record, unused, so its tokens are still counted.
    /// </summary>
    private static void Read(Comparison c, int side, CompletionRequest request, Completion reply)
    {
        var used = c.Verdict is null;
        c.Calls.Add(new JudgeCall(request.WithImage, request.UserText, reply.Text, reply.Tokens, used));
        if (!used)
            return;
        if (side == Pairwise)
            c.Decide(reply.Text.Contains(ChoosesFirst, StringComparison.Ordinal) ? 0 : 1, "judge");
        else if (reply.Text.Contains(Incorrect, StringComparison.Ordinal))
            c.Decide(side == 0 ? 1 : 0, "incorrect_reasoning");
    }
}
