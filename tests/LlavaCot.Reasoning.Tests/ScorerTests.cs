using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Judging;
using LlavaCot.Reasoning.Scoring;

namespace LlavaCot.Reasoning.Tests;

/// <summary>The scorer seam: the verifier, identical candidates, which modes take which scorer, votes.</summary>
public class ScorerTests
{
    /// <summary>A stage candidate: its tags, its number and its seed, so every candidate of a search differs.</summary>
    internal static string StageText(SampleRequest request, int candidate)
    {
        var close = request.Stop.StopStrings.Single();
        var open = close.Replace("</", "<");
        return $"{open} c{candidate} {request.Seeds[candidate] % 1000} {close}\n\n";
    }

    internal static ReasonRequest Request(ReasoningMode mode, int n, ScorerKind? scorer = null, ulong seed = 42, double? cutoff = null) =>
        new("req-1", new byte[] { 1, 2, 3 }, "How many?", new ReasonOptions { Mode = mode, BeamSize = n, Seed = seed, Scorer = scorer, SwiresCutoff = cutoff });

    internal static async Task<List<ReasonEvent>> Collect(Reasoner reasoner, ReasonRequest request)
    {
        var events = new List<ReasonEvent>();
        await foreach (var e in reasoner.ReasonAsync(request, CancellationToken.None))
            events.Add(e);
        return events;
    }

    internal static ReasonResult Final(List<ReasonEvent> events) =>
        events[^1] is FinalAnswer f ? f.Result : throw new InvalidOperationException($"the search ended with {events[^1]}");

    /// <summary>The number of the candidate a verification prompt scores (" c2 " at its end), or -1.</summary>
    internal static int Number(ScoreRequest r) =>
        System.Text.RegularExpressions.Regex.Match(r.UserText, @" c(\d+) \d+ (</[A-Z]+>\s*)?$") is { Success: true } m ? int.Parse(m.Groups[1].Value) : -1;

    [Fact]
    public async Task The_verifier_keeps_the_highest_scored_candidate_of_each_stage_scoring_all_of_them_in_one_batch()
    {
        double[] byNumber = [0.2, 0.9, 0.4];
        var session = new ScriptedSession(StageText) { Score = r => byNumber[Number(r)] };
        var events = await Collect(new Reasoner(session), Request(ReasoningMode.StageBeam, 3, ScorerKind.Verifier));

        var final = Final(events);
        Assert.All(events.OfType<StageWinner>(), w => Assert.Equal(1, w.Candidate));
        Assert.Equal([3, 3, 3, 3], session.ScoreBatches);
        Assert.Empty(session.Completions);
        Assert.Empty(events.OfType<JudgeComparison>());
        Assert.Equal(12, events.OfType<CandidateScored>().Count());
        Assert.All(events.OfType<CandidateScored>(), s => Assert.Equal(byNumber[s.Candidate], s.Score, 12));
        Assert.Equal(("verifier", 12, 0), (final.Scorer, final.ScoreCalls, final.JudgeCalls));
        Assert.Equal(session.Scored.Sum(r => r.UserText.Length + 2), final.ScoreTokens);
        Assert.All(final.Stages, s => Assert.Equal(byNumber, s.Scores!.Select(x => Math.Round(x, 12))));
    }

    [Fact]
    public async Task Equal_scores_go_to_the_lowest_index()
    {
        var session = new ScriptedSession(StageText) { Score = r => Number(r) == 0 ? 0.1 : 0.7 };
        var events = await Collect(new Reasoner(session), Request(ReasoningMode.BestOfN, 4, ScorerKind.Verifier));
        Assert.Equal(1, Assert.Single(events.OfType<StageWinner>()).Candidate);
    }

    [Fact]
    public async Task Each_stage_is_verified_with_its_own_prompt_the_candidate_last_and_the_reasoning_without_the_image()
    {
        var session = new ScriptedSession(StageText);
        await Collect(new Reasoner(session), Request(ReasoningMode.StageBeam, 2, ScorerKind.Verifier));

        Assert.Equal(8, session.Scored.Count);
        Assert.All(session.Scored, r => Assert.Equal([VerifierPrompts.Correct, VerifierPrompts.Incorrect], r.Continuations));
        var (summary, caption, reasoning, conclusion) = (session.Scored[0], session.Scored[2], session.Scored[4], session.Scored[6]);
        Assert.StartsWith(VerifierPrompts.Summary("How many?"), summary.UserText);
        Assert.StartsWith(VerifierPrompts.Caption("How many?"), caption.UserText);
        Assert.StartsWith(JudgePrompts.CorrectnessCheck + "\n\nGiven Information: ", reasoning.UserText);
        Assert.Contains("\n\nHint about the Question: ", conclusion.UserText);
        Assert.Equal([true, true, false, true], new[] { summary, caption, reasoning, conclusion }.Select(r => r.WithImage));
        // Two candidates of a stage share the instruction, question and hint; the candidate comes last.
        foreach (var (first, label) in new[] { (0, "\n\nSummary: "), (2, "\n\nCaption: "), (4, "\n\nReasoning Process: "), (6, "\n\nConclusion: ") })
        {
            var (a, b) = (session.Scored[first], session.Scored[first + 1]);
            Assert.Equal(a.Instruction, b.Instruction);
            Assert.EndsWith(label, a.Instruction);
            Assert.NotEqual(a.Candidate, b.Candidate);
            Assert.Equal(a.Instruction + a.Candidate, a.UserText);
        }
    }

    [Fact]
    public async Task A_candidate_without_its_tags_scores_zero_without_a_call()
    {
        var session = new ScriptedSession((r, i) => i == 0 ? "no tags at all" : StageText(r, i)) { Score = _ => 0.01 };
        var events = await Collect(new Reasoner(session), Request(ReasoningMode.StageBeam, 2, ScorerKind.Verifier));
        var first = events.OfType<CandidateScored>().First(s => s.Candidate == 0);
        Assert.Equal((0.0, "missing_tags", 0), (first.Score, first.Decision, first.Tokens));
        Assert.Equal(1, events.OfType<StageWinner>().First().Candidate);
        Assert.Equal(1, session.ScoreBatches[0]);
    }

    [Fact]
    public async Task Identical_candidates_are_scored_once_and_the_copy_says_whose_score_it_took()
    {
        var session = new ScriptedSession((r, i) => StageText(r, 0).Replace($" {r.Seeds[0] % 1000} ", $" {(i == 2 ? 7 : 1)} "))
        {
            Score = r => r.UserText.Contains(" 7 ") ? 0.3 : 0.8,
        };
        var events = await Collect(new Reasoner(session), Request(ReasoningMode.BestOfN, 3, ScorerKind.Verifier));

        Assert.Equal([2], session.ScoreBatches);
        var scores = events.OfType<CandidateScored>().ToList();
        Assert.Equal(["verifier", "identical", "verifier"], scores.Select(s => s.Decision));
        Assert.Equal((0, 0.8), (scores[1].IdenticalTo!.Value, scores[1].Score));
        Assert.Equal(0, events.OfType<StageWinner>().Single().Candidate);
        Assert.Equal(2, Final(events).ScoreCalls);
    }

    /// <summary>Every candidate of a stage the same: with the skip, no judge call at all; the seeds stay those of a judged run.</summary>
    [Fact]
    public async Task Identical_candidates_need_no_judge_and_leave_every_later_seed_unchanged()
    {
        static string Same(SampleRequest r, int i) => StageText(r, 0).Replace($" {r.Seeds[0] % 1000} ", " 1 ");
        var skipping = new ScriptedSession(Same);
        var judged = new ScriptedSession(Same, Enumerable.Repeat("I choose response 2", 100));
        var skipped = await Collect(new Reasoner(skipping), Request(ReasoningMode.StageBeam, 3));
        var reference = await Collect(new Reasoner(judged, new ReasonerSettings { SkipIdenticalCandidates = false }), Request(ReasoningMode.StageBeam, 3));

        Assert.Empty(skipping.Completions);
        Assert.All(skipped.OfType<JudgeComparison>(), j => Assert.Equal(("identical", 0), (j.Decision, j.Calls.Count)));
        Assert.All(skipped.OfType<JudgeComparison>(), j => Assert.Equal(Math.Min(j.First, j.Second), j.Winner));
        Assert.Equal(8, skipped.OfType<JudgeComparison>().Count());
        // Judged, the same comparisons make their calls (the reference's pattern), and every stage is sampled with the same seeds.
        Assert.Equal(8 + 2 * 2, judged.Completions.Count);
        Assert.Equal(judged.Samples.Select(s => s.Seeds), skipping.Samples.Select(s => s.Seeds));
        Assert.Equal(0, Final(skipped).JudgeCalls);
    }

    [Theory]
    [InlineData(ReasoningMode.SentenceBeam, ScorerKind.Verifier, "'verifier' does not apply to sentence_beam, which takes pairwise")]
    [InlineData(ReasoningMode.Swires, ScorerKind.Pairwise, "'pairwise' does not apply to swires, which takes verifier")]
    [InlineData(ReasoningMode.WeightedBestOfN, ScorerKind.Pairwise, "'pairwise' does not apply to weighted_best_of_n, which takes verifier")]
    [InlineData(ReasoningMode.Single, ScorerKind.Verifier, "'verifier' does not apply to single, which takes none")]
    [InlineData(ReasoningMode.TwoStage, ScorerKind.Pairwise, "'pairwise' does not apply to two_stage, which takes none")]
    [InlineData(ReasoningMode.StageBeam, ScorerKind.None, "'none' does not apply to stage_beam, which takes pairwise or verifier")]
    [InlineData(ReasoningMode.SelfConsistency, ScorerKind.None, "'none' does not apply to self_consistency, which takes verifier or pairwise")]
    public void A_scorer_where_it_does_not_apply_is_refused_saying_what_the_mode_takes(ReasoningMode mode, ScorerKind scorer, string message)
    {
        var error = Assert.Single(new RequestLimits().Check(Request(mode, 2, scorer)));
        Assert.Equal(("scorer", message), (error.Field, error.Message));
    }

    [Theory]
    [InlineData(ReasoningMode.StageBeam, ScorerKind.Pairwise)]
    [InlineData(ReasoningMode.BestOfN, ScorerKind.Pairwise)]
    [InlineData(ReasoningMode.SentenceBeam, ScorerKind.Pairwise)]
    [InlineData(ReasoningMode.Swires, ScorerKind.Verifier)]
    [InlineData(ReasoningMode.SelfConsistency, ScorerKind.Verifier)]
    [InlineData(ReasoningMode.WeightedBestOfN, ScorerKind.Verifier)]
    [InlineData(ReasoningMode.Single, ScorerKind.None)]
    [InlineData(ReasoningMode.TwoStage, ScorerKind.None)]
    public void Each_mode_has_its_default_scorer(ReasoningMode mode, ScorerKind scorer)
    {
        Assert.Equal(scorer, Scorers.DefaultFor(mode));
        Assert.Empty(new RequestLimits().Check(Request(mode, 2, scorer)));
    }

    [Fact]
    public void The_swires_cutoff_is_a_probability_for_swires_only()
    {
        Assert.Empty(new RequestLimits().Check(Request(ReasoningMode.Swires, 2, cutoff: 0.7)));
        Assert.Contains(new RequestLimits().Check(Request(ReasoningMode.Swires, 2, cutoff: 1.5)), e => e.Field == "swires_cutoff");
        Assert.Contains(new RequestLimits().Check(Request(ReasoningMode.StageBeam, 2, cutoff: 0.5)),
            e => e == new FieldError("swires_cutoff", "applies to the swires mode only"));
    }

    [Theory]
    [InlineData("<CONCLUSION> 3. </CONCLUSION>", "3")]
    [InlineData("<CONCLUSION>Three\n  red   shapes.</CONCLUSION>", "three red shapes")]
    [InlineData("no tags", "no tags")]
    public void Votes_compare_the_conclusion_folded_to_lower_case_without_spacing_or_a_final_period(string text, string normalised) =>
        Assert.Equal(normalised, Votes.Normalise(text));
}
