using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Training.Eval;

namespace LlavaCot.Training.Tests;

public class EvalPlanTests
{
    [Fact]
    public void Every_mode_scorer_and_n_that_applies_is_a_row_and_what_does_not_apply_is_said_once()
    {
        ReasoningMode[] modes =
        [
            ReasoningMode.Single, ReasoningMode.StageBeam, ReasoningMode.SentenceBeam, ReasoningMode.Swires, ReasoningMode.WeightedBestOfN,
            ReasoningMode.TwoStage,
        ];
        var (rows, notes) = EvalPlan.Rows(modes, [ScorerKind.Pairwise, ScorerKind.Verifier], [1, 2, 4]);
        Assert.Equal(
        [
            "single N=1", "single greedy",
            "stage_beam N=1", "stage_beam N=2 pairwise", "stage_beam N=4 pairwise", "stage_beam N=2 verifier", "stage_beam N=4 verifier",
            "sentence_beam N=1", "sentence_beam N=2 pairwise", "sentence_beam N=4 pairwise",
            "swires verifier",
            "weighted_best_of_n N=1 verifier", "weighted_best_of_n N=2 verifier", "weighted_best_of_n N=4 verifier",
            "two_stage N=1",
        ], rows.Select(r => r.Label));
        Assert.Equal(
        [
            "single, two_stage take no scorer: run once",
            "sentence_beam does not take the verifier scorer (it takes pairwise): skipped",
            "swires does not take the pairwise scorer (it takes verifier): skipped",
            "weighted_best_of_n does not take the pairwise scorer (it takes verifier): skipped",
        ], notes);

        // At N=1 nothing is chosen: no scorer; the weighted vote still scores its one answer.
        Assert.Equal(ScorerKind.None, rows.Single(r => r.Label == "stage_beam N=1").Scorer);
        Assert.Equal(ScorerKind.Verifier, rows.Single(r => r.Label == "weighted_best_of_n N=1 verifier").Scorer);
        var greedy = rows.Single(r => r.Greedy);
        Assert.Equal((ReasoningMode.Single, 1, ScorerKind.None, false), (greedy.Mode, greedy.N, greedy.Scorer, greedy.Scales));
        Assert.Equal(["stage_beam", "sentence_beam", "weighted_best_of_n"],
            rows.Where(r => r.Scales).Select(r => ReasoningModes.Name(r.Mode)).Distinct());
    }

    [Fact]
    public void Without_scorers_each_mode_runs_with_its_default_and_the_greedy_row_comes_even_without_single()
    {
        var (rows, notes) = EvalPlan.Rows([ReasoningMode.StageBeam, ReasoningMode.SelfConsistency], null, [2, 4], blank: true);
        Assert.Empty(notes);
        Assert.Equal(
        [
            "single greedy", "stage_beam N=2 pairwise", "stage_beam N=4 pairwise", "self_consistency N=2 verifier", "self_consistency N=4 verifier",
            "single (blank image)",
        ], rows.Select(r => r.Label));
        Assert.True(rows[^1].Blank);
        Assert.False(rows[^1].Scales);
    }

    [Fact]
    public void A_mode_none_of_whose_scorers_were_asked_for_has_no_rows()
    {
        var (rows, notes) = EvalPlan.Rows([ReasoningMode.SentenceBeam], [ScorerKind.Verifier], [1, 2]);
        Assert.Equal(["single greedy"], rows.Select(r => r.Label));
        Assert.Equal(["sentence_beam does not take the verifier scorer (it takes pairwise): skipped"], notes);
    }

    private static ModeResult Result(string mode, int n, string scorer, double modelSeconds, bool scales = true, string? label = null) => new()
    {
        Mode = mode, N = n, Label = label ?? $"{mode} N={n} {scorer}", Scorer = scorer, Scales = scales, Count = 10, Accuracy = 0.5,
        CiLow = 0.2, CiHigh = 0.8, TagsOk = 1, JudgeAgreement = new Dictionary<string, StageAgreement>(), Tokens = 0, JudgeTokens = 0,
        Seconds = 99, ModelSeconds = modelSeconds, Correct = [], AccuracyByType = new Dictionary<string, double>(), Texts = [],
    };

    [Fact]
    public void The_plot_draws_a_line_per_mode_and_scorer_over_n_starting_from_the_shared_n1_row()
    {
        ModeResult[] results =
        [
            Result("single", 1, "none", 5, scales: false, label: "single N=1"),
            Result("single", 1, "none", 4, scales: false, label: "single greedy"),
            Result("stage_beam", 1, "none", 6, label: "stage_beam N=1"),
            Result("stage_beam", 4, "pairwise", 30), Result("stage_beam", 2, "pairwise", 20),
            Result("stage_beam", 2, "verifier", 10),
            Result("best_of_n", 1, "none", 6, label: "best_of_n N=1"),
            Result("swires", 4, "verifier", 50, scales: false, label: "swires verifier"),
        ];
        var series = AccuracyPlot.Series(results).ToDictionary(s => s.Name, s => s.Points.Select(p => p.Label).ToList());
        Assert.Equal(["stage_beam N=1", "stage_beam N=2 pairwise", "stage_beam N=4 pairwise"], series["stage_beam pairwise"]);
        Assert.Equal(["stage_beam N=1", "stage_beam N=2 verifier"], series["stage_beam verifier"]);
        Assert.Equal(["single N=1"], series["single N=1"]);
        Assert.Equal(["single greedy"], series["single greedy"]);
        Assert.Equal(["swires verifier"], series["swires verifier"]);
        // An N=1 row with no scorer's line to start stands alone; one with lines is only on them.
        Assert.Equal(["best_of_n N=1"], series["best_of_n N=1"]);
        Assert.False(series.ContainsKey("stage_beam N=1"));
        // The x axis is the model's seconds per question.
        Assert.Equal(3.0, results[3].SecondsPerQuestion);
    }

    [Fact]
    public void The_plots_seconds_ticks_are_round_and_cover_the_range()
    {
        Assert.Equal([0.5, 1, 2, 5, 10], AccuracyPlot.Ticks(0.3, 12));
        Assert.Equal(3, AccuracyPlot.Ticks(0.41, 0.45).Count);
    }

    [Fact]
    public void A_row_is_paired_with_single_and_a_scored_row_also_with_the_greedy_pass()
    {
        ModeResult With(ModeResult r, params bool[] correct) => r with { Correct = correct, Count = correct.Length };
        ModeResult[] results =
        [
            With(Result("single", 1, "none", 1, scales: false, label: "single N=1"), true, false, false, true),
            With(Result("single", 1, "none", 1, scales: false, label: "single greedy") with { Greedy = true }, true, true, false, true),
            With(Result("stage_beam", 2, "pairwise", 1), true, true, true, true),
            With(Result("single", 1, "none", 1, scales: false, label: "single (blank image)") with { Blank = true }, false, false, false, false),
        ];
        var paired = EvalReport.Paired(results);
        Assert.Equal(["single greedy vs single N=1", "stage_beam N=2 pairwise vs single N=1", "stage_beam N=2 pairwise vs single greedy"],
            paired.Select(p => $"{p.A} vs {p.B}"));
        Assert.Equal([0.25, 0.5, 0.25], paired.Select(p => p.Difference));
    }
}
