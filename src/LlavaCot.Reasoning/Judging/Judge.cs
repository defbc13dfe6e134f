namespace LlavaCot.Reasoning.Judging;

/// <summary>A prompt the judge sent and the reply it got.</summary>
/// <param name="Used">False for a pre-check that ran in a batch although the first one had already decided: its tokens
/// were generated (and are counted) but the reference would not have made the call.</param>
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
/// or not, so comparisons can also run as a batch — all pre-checks together, then all pairwise prompts — with the
/// same outcome and calls as one after another. A second pre-check that the first made moot is kept on record as
/// unused, so its tokens are still counted.
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

    public async Task<JudgeVerdict> CompareAsync(JudgeType type, string question, string first, string second, CancellationToken ct) =>
        (await CompareManyAsync(type, question, [(first, second)], ct))[0];

    /// <summary>Judges several independent pairs (texts of the first and second candidate).</summary>
    public async Task<IReadOnlyList<JudgeVerdict>> CompareManyAsync(JudgeType type, string question,
        IReadOnlyList<(string First, string Second)> pairs, CancellationToken ct)
    {
        var comparisons = pairs.Select(p => new Comparison(JudgeExtraction.From(type, p.First), JudgeExtraction.From(type, p.Second),
            [seeds.Next(), seeds.Next(), seeds.Next()])).ToList();
        foreach (var c in comparisons.Where(c => c.First is null || c.Second is null))
            c.Decide(c.First is null ? 1 : 0, "missing_tags");
        var open = comparisons.Where(c => c.Verdict is null).ToList();
        if (batch)
        {
            if (type == JudgeType.Reasoning)
                await PreCheckBatchAsync(open, ct);
            await PairwiseAsync(type, question, open.Where(c => c.Verdict is null).ToList(), ct);
        }
        else
        {
            foreach (var c in open)
            {
                c.Start();
                if (type == JudgeType.Reasoning)
                {
                    await PreCheckAsync(c, 0, ct);
                    if (c.Verdict is null)
                        await PreCheckAsync(c, 1, ct);
                }
                if (c.Verdict is null)
                    await PairwiseAsync(type, question, [c], ct);
            }
        }
        return comparisons.Select(c => c.Verdict!).ToList();
    }

    private CompletionRequest Request(string prompt, bool withImage, ulong seed) =>
        new(prompt, withImage, StopCondition.EosOnly(maxNewTokens), sampling, seed, KeepSpecialTokens: true);

    private CompletionRequest PreCheckRequest(Comparison c, int side) =>
        Request(JudgePrompts.PreCheck(c.Hint ?? "", (side == 0 ? c.First : c.Second)!.Content), withImage: false, c.Seeds[side]);

    /// <summary>The text-only correctness check of one side: "incorrect" decides the comparison against that side.</summary>
    private async Task PreCheckAsync(Comparison c, int side, CancellationToken ct)
    {
        var request = PreCheckRequest(c, side);
        var reply = (await complete([request], ct))[0];
        Record(c, request, reply);
        if (reply.Text.Contains(Incorrect, StringComparison.Ordinal))
            c.Decide(side == 0 ? 1 : 0, "incorrect_reasoning");
    }

    private async Task PreCheckBatchAsync(IReadOnlyList<Comparison> open, CancellationToken ct)
    {
        var requests = open.SelectMany(c => new[] { PreCheckRequest(c, 0), PreCheckRequest(c, 1) }).ToList();
        var replies = await complete(requests, ct);
        for (var i = 0; i < open.Count; i++)
        {
            var c = open[i];
            for (var side = 0; side < 2; side++)
            {
                var reply = replies[2 * i + side];
                // The second check still ran after the first decided: it stays on record, marked unused.
                var used = c.Verdict is null;
                Record(c, requests[2 * i + side], reply, used);
                if (used && reply.Text.Contains(Incorrect, StringComparison.Ordinal))
                    c.Decide(side == 0 ? 1 : 0, "incorrect_reasoning");
            }
        }
    }

    private async Task PairwiseAsync(JudgeType type, string question, IReadOnlyList<Comparison> comparisons, CancellationToken ct)
    {
        if (comparisons.Count == 0)
            return;
        var requests = comparisons.Select(c => Request(
            JudgePrompts.Comparison(type, question, c.Hint, [c.First!.Content, c.Second!.Content]), withImage: true, c.Seeds[2])).ToList();
        var replies = await complete(requests, ct);
        for (var i = 0; i < comparisons.Count; i++)
        {
            var c = comparisons[i];
            Record(c, requests[i], replies[i]);
            c.Decide(replies[i].Text.Contains(ChoosesFirst, StringComparison.Ordinal) ? 0 : 1, "judge");
        }
    }

    private static void Record(Comparison c, CompletionRequest request, Completion reply, bool used = true) =>
        c.Calls.Add(new JudgeCall(request.WithImage, request.UserText, reply.Text, reply.Tokens, used));
}
