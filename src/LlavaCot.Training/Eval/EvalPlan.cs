using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Reasoning.Strategies;

namespace LlavaCot.Training.Eval;

/// <summary>One row of an evaluation: a mode at N candidates with a scorer.</summary>
/// <param name="Scorer">What chooses among the candidates; None where nothing is chosen (single, two-stage, N=1).</param>
/// <param name="Greedy">Temperature 0: a single pass without sampling noise.</param>
/// <param name="Blank">Every image replaced by a blank one.</param>
public sealed record EvalRow(ReasoningMode Mode, int N, ScorerKind Scorer, string Label, bool Greedy = false, bool Blank = false)
{
    /// <summary>A row on a mode's scaling line (plotted over N); the others are points of their own.</summary>
    public bool Scales => !Greedy && !Blank && Mode is not (ReasoningMode.Single or ReasoningMode.TwoStage or ReasoningMode.Swires);
}

/// <summary>
/// Which rows an evaluation runs: every mode × scorer × N that applies, with the notes that say what did not.
/// </summary>
public static class EvalPlan
{
    public const string SingleLabel = "single N=1";
    public const string GreedyLabel = "single greedy";
    public const string BlankLabel = "single (blank image)";

    /// <summary>
    /// The rows for <paramref name="modes"/>: single and two-stage once, with no scorer; SWIRES once per scorer it takes
    /// (its shape is fixed: N is its 4 captions per round); every other mode at each N with each scorer of
    /// <paramref name="scorers"/> it takes (null: its default). At N=1 a mode that chooses by comparing candidates has
    /// nothing to choose and makes no scorer call, so it runs once, with scorer none, and starts each of its scorers'
    /// lines. A greedy single pass (temperature 0) always comes with them, after the sampled one, so that a vote is not
    /// credited for merely removing sampling noise; <paramref name="blank"/> adds a single pass on blank images.
    /// </summary>
    public static (IReadOnlyList<EvalRow> Rows, IReadOnlyList<string> Notes) Rows(IReadOnlyList<ReasoningMode> modes,
        IReadOnlyList<ScorerKind>? scorers, IReadOnlyList<int> ns, bool blank = false)
    {
        var rows = new List<EvalRow>();
        var notes = new List<string>();
        var unscored = modes.Where(m => Scorers.For(m).SequenceEqual([ScorerKind.None])).ToList();
        if (scorers is not null && unscored.Count > 0)
            notes.Add($"{string.Join(", ", unscored.Select(ReasoningModes.Name))} take{(unscored.Count == 1 ? "s" : "")} no scorer: run once");
        foreach (var mode in modes)
        {
            var name = ReasoningModes.Name(mode);
            if (unscored.Contains(mode))
            {
                rows.Add(new EvalRow(mode, 1, ScorerKind.None, $"{name} N=1"));
                if (mode == ReasoningMode.Single)
                    rows.Add(new EvalRow(mode, 1, ScorerKind.None, GreedyLabel, Greedy: true));
                continue;
            }
            var taken = scorers?.Where(s => Scorers.For(mode).Contains(s)).ToList() ?? [Scorers.DefaultFor(mode)];
            foreach (var skipped in scorers?.Except(taken) ?? [])
                notes.Add($"{name} does not take the {Scorers.Name(skipped)} scorer (it takes {string.Join(" or ", Scorers.For(mode).Select(Scorers.Name))}): skipped");
            if (mode == ReasoningMode.Swires)
            {
                rows.AddRange(taken.Select(s => new EvalRow(mode, Swires.Captions, s, $"{name} {Scorers.Name(s)}")));
                continue;
            }
            if (ns.Contains(1) && taken.Count > 0 && !ScoresOne(mode))
                rows.Add(new EvalRow(mode, 1, ScorerKind.None, $"{name} N=1"));
            foreach (var scorer in taken)
                foreach (var n in ns.Where(n => n > 1 || ScoresOne(mode)))
                    rows.Add(new EvalRow(mode, n, scorer, $"{name} N={n} {Scorers.Name(scorer)}"));
        }
        if (!rows.Any(r => r.Greedy))
            rows.Insert(0, new EvalRow(ReasoningMode.Single, 1, ScorerKind.None, GreedyLabel, Greedy: true));
        if (blank)
            rows.Add(new EvalRow(ReasoningMode.Single, 1, ScorerKind.None, BlankLabel, Blank: true));
        return (rows, notes);
    }

    /// <summary>Whether the mode calls its scorer with one candidate: the weighted vote scores every answer.</summary>
    private static bool ScoresOne(ReasoningMode mode) => mode == ReasoningMode.WeightedBestOfN;
}
