using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Training.Eval;

namespace LlavaCot.Training.Tests;

/// <summary>The agreement rule on scripted events: which candidate pairs count, and what counts as preferring the right one.</summary>
public class AgreementTests
{
    private static readonly EvalItem Item = new("q", null, "How many shapes are there?", ["2"],
        "<SUMMARY>Count.</SUMMARY><CAPTION>There is a small red circle and a large blue square.</CAPTION>" +
        "<REASONING>There are 2 shapes.</REASONING><CONCLUSION>2</CONCLUSION>", "count_all");

    private const string RightCaption = "<CAPTION>A large blue square and a small red circle.</CAPTION>";
    private const string WrongCaption = "<CAPTION>A small green triangle.</CAPTION>";

    private static CandidateFinished Finished(string stage, int index, int candidate, string text) =>
        new(stage, index, candidate, text, 10, StopReason.StopString);

    private static CandidateScored Scored(string stage, int index, int candidate, double score, string decision = "verifier") =>
        new(stage, index, candidate, score, null, null, decision, 10);

    private static JudgeComparison Match(string stage, int index, int first, int second, int winner, string decision = "judge") =>
        new(stage, index, first, second, winner, decision, []);

    private static IReadOnlyList<AgreementPair> Pairs(params ReasonEvent[] events)
    {
        var counter = new AgreementCounter(Item);
        foreach (var e in events)
            counter.Add(e);
        return counter.Pairs();
    }

    [Fact]
    public void The_verifier_counts_every_right_wrong_pair_of_a_stage_the_higher_score_preferred_a_tie_half()
    {
        // Candidates 0 and 2 are right, 1 and 3 wrong: four right/wrong pairs; the two right ones and the two wrong ones
        // are not pairs. Candidate 3 scores as high as candidate 2: that pair is a tie.
        var pairs = Pairs(
            Finished("caption", 1, 0, RightCaption), Finished("caption", 1, 1, WrongCaption),
            Finished("caption", 1, 2, RightCaption), Finished("caption", 1, 3, WrongCaption),
            Scored("caption", 1, 0, 0.9), Scored("caption", 1, 1, 0.2), Scored("caption", 1, 2, 0.5, "identical"), Scored("caption", 1, 3, 0.5));
        Assert.Equal(4, pairs.Count);
        Assert.All(pairs, p => Assert.Equal("caption", p.Stage));
        Assert.Equal([0.5, 1, 1, 1], pairs.Select(p => p.Agreed).Order());
        var total = AgreementCounter.Totals(pairs)["caption"];
        Assert.Equal((4, 3.5), (total.Comparisons, total.Agreed));
        Assert.Equal(0.875, total.Rate);
        Assert.Equal(Interval.Wilson(3.5, 4).Low, total.CiLow);
        Assert.True(total.CiLow < 0.875);
    }

    [Fact]
    public void A_candidate_the_verifier_did_not_score_is_in_no_pair_and_a_stage_without_a_criterion_counts_nothing()
    {
        var pairs = Pairs(
            Finished("caption", 1, 0, RightCaption), Finished("caption", 1, 1, WrongCaption), Finished("caption", 1, 2, WrongCaption),
            Scored("caption", 1, 0, 0.1), Scored("caption", 1, 1, 0.7),
            Finished("summary", 0, 0, "<SUMMARY>a</SUMMARY>"), Finished("summary", 0, 1, "<SUMMARY>b</SUMMARY>"),
            Scored("summary", 0, 0, 0.9), Scored("summary", 0, 1, 0.1));
        var pair = Assert.Single(pairs);
        Assert.Equal(new AgreementPair("caption", 0), pair);
    }

    [Fact]
    public void Pairwise_counts_the_knockouts_comparisons_with_exactly_one_side_right_its_winner_preferred()
    {
        var pairs = Pairs(
            Finished("reasoning", 2, 0, "<REASONING>So there are 2 shapes.</REASONING>"),
            Finished("reasoning", 2, 1, "<REASONING>So there are 3 shapes.</REASONING>"),
            Finished("reasoning", 2, 2, "<REASONING>So there are 3 shapes.</REASONING>"),
            Finished("reasoning", 2, 3, "<REASONING>So there are 2 shapes.</REASONING>"),
            // Right against wrong: the right one wins, then the wrong one wins; two wrong ones and two right ones are no pairs.
            Match("reasoning", 2, 0, 1, 0), Match("reasoning", 2, 2, 3, 2, "incorrect_reasoning"),
            Match("reasoning", 2, 1, 2, 1, "identical"), Match("reasoning", 2, 0, 3, 3),
            Finished("summary", 0, 0, "<SUMMARY>a</SUMMARY>"), Finished("summary", 0, 1, "<SUMMARY>b</SUMMARY>"), Match("summary", 0, 0, 1, 1));
        Assert.Equal([new AgreementPair("reasoning", 1), new AgreementPair("reasoning", 0)], pairs);
    }

    [Fact]
    public void A_vote_prefers_the_candidate_whose_answer_has_the_greater_tally_and_equal_tallies_tie()
    {
        string Answer(string conclusion) => $"<SUMMARY>s</SUMMARY><CAPTION>c</CAPTION><REASONING>r</REASONING><CONCLUSION>{conclusion}</CONCLUSION>";
        // "2" twice (one spelt "2."), "3" twice, "4" once: the right candidate 0 against the wrong 2 and 3 ties (2 votes
        // each) and beats 4 (1 vote); candidate 1 is "2." — graded wrong, the same answer to the vote as candidate 0,
        // so its pair with candidate 0 ties.
        string[] answers = ["2", "2.", "3", "3", "4"];
        var events = answers.Select((a, i) => (ReasonEvent)Finished("answer", 0, i, Answer(a))).ToList();
        events.Add(new VoteCounted("answer", 0, Votes.Tally(answers.Select(Answer).ToList()), 0, "tie"));
        var pairs = Pairs([.. events]);
        Assert.All(pairs, p => Assert.Equal(AgreementCounter.Vote, p.Stage));
        Assert.Equal([0.5, 0.5, 0.5, 1], pairs.Select(p => p.Agreed).Order());

        // Weighted: the tallies are summed P(correct).
        var weighted = answers.Select((a, i) => (ReasonEvent)Finished("answer", 0, i, Answer(a))).ToList();
        weighted.Add(new VoteCounted("answer", 0, Votes.Tally(answers.Select(Answer).ToList(), [0.1, 0.1, 0.9, 0.1, 0.05]), 2, "weighted"));
        Assert.Equal([0, 0, 0.5, 1], Pairs([.. weighted]).Select(p => p.Agreed).Order());
    }

    [Fact]
    public void A_self_consistency_tie_scored_by_the_verifier_counts_the_tied_candidates_pairs()
    {
        string Answer(string conclusion) => $"<CONCLUSION>{conclusion}</CONCLUSION>";
        // Answers 5, 2, 3, 2, 3: "2" and "3" tie, and the verifier scores the tied candidates 1..4 only. Right 1 (0.9) and
        // 3 (0.8) against wrong 2 (0.1) and 4 (0.2): all four prefer the right one; candidate 0, unscored, is in none.
        string[] answers = ["5", "2", "3", "2", "3"];
        var events = answers.Select((a, i) => (ReasonEvent)Finished("answer", 0, i, Answer(a))).ToList();
        double[] scores = [0.9, 0.1, 0.8, 0.2];
        events.AddRange(scores.Select((s, k) => (ReasonEvent)Scored("answer", 0, k + 1, s)));
        events.Add(new VoteCounted("answer", 0, Votes.Tally(answers.Select(Answer).ToList()), 1, "tie"));
        var pairs = Pairs([.. events]);
        Assert.Equal([1, 1, 1, 1], pairs.Where(p => p.Stage == "answer").Select(p => p.Agreed));
        // The vote itself: right 1 and 3 ("2", 2 votes) against wrong 0 ("5", 1 vote) and 2, 4 ("3", 2 votes).
        Assert.Equal([0.5, 0.5, 0.5, 0.5, 1, 1], pairs.Where(p => p.Stage == AgreementCounter.Vote).Select(p => p.Agreed).Order());
    }

    [Fact]
    public void Totals_are_per_stage_and_an_empty_stage_has_no_rate()
    {
        var totals = AgreementCounter.Totals([new AgreementPair("caption", 1), new AgreementPair("caption", 0.5), new AgreementPair("vote", 0)]);
        Assert.Equal(new StageAgreement(2, 1.5), totals["caption"]);
        Assert.Equal(0, totals["vote"].Rate);
        Assert.Null(new StageAgreement(0, 0).Rate);
        Assert.Null(new StageAgreement(0, 0).CiLow);
    }
}

public class VerifierCutoffTests
{
    [Fact]
    public void The_cutoff_is_the_score_that_best_separates_right_from_wrong_candidates()
    {
        ScoredCandidate C(double score, bool right) => new("reasoning", score, right);
        var cutoff = VerifierCutoff.Best([C(0.9, true), C(0.8, true), C(0.6, true), C(0.55, false), C(0.3, false), C(0.85, false)])!;
        // At 0.55: all three right above it, two of three wrong at or below: (1 + 2/3) / 2.
        Assert.Equal(0.55, cutoff.Cutoff);
        Assert.Equal((1 + 2 / 3.0) / 2, cutoff.BalancedAccuracy, 12);
        Assert.Equal((3, 3), (cutoff.Right, cutoff.Wrong));
        Assert.Null(VerifierCutoff.Best([C(0.9, true), C(0.1, true)]));
    }
}
