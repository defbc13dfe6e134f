using System.Text.RegularExpressions;
using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Scoring;
using static LlavaCot.Reasoning.Tests.ScorerTests;

namespace LlavaCot.Reasoning.Tests;

/// <summary>SWIRES's control flow, self-consistency and the weighted vote, with scripted candidates and scores.</summary>
public class SearchModeTests
{
    private static bool IsCaption(ScoreRequest r) => r.UserText.Contains("\n\nCaption: ", StringComparison.Ordinal);
    private static bool IsReasoning(ScoreRequest r) => r.UserText.Contains("\n\nReasoning Process: ", StringComparison.Ordinal);

    private static List<T> Of<T>(List<ReasonEvent> events, int index) where T : ReasonEvent =>
        events.OfType<T>().Where(e => e switch
        {
            CandidateFinished c => c.Index == index,
            CandidateScored s => s.Index == index,
            _ => true,
        }).ToList();

    [Fact]
    public async Task Swires_keeps_the_two_best_captions_backtracks_while_the_second_best_reasoning_is_low_and_concludes_from_the_best_three()
    {
        double[] captions = [0.1, 0.7, 0.9, 0.2];
        var reasonings = new Queue<double>([0.2, 0.9, 0.3, 0.4, 0.1, 0.6, 0.2, 0.3]);
        var answers = new Queue<double>([0.3, 0.8, 0.5]);
        var session = new ScriptedSession(StageText)
        {
            Score = r => IsCaption(r) ? captions[Number(r)] : IsReasoning(r) ? reasonings.Dequeue() : answers.Dequeue(),
        };
        var events = await Collect(new Reasoner(session), Request(ReasoningMode.Swires, 2));
        var final = Final(events);

        Assert.Equal(["summary", "caption", "reasoning", "caption", "reasoning", "conclusion"], events.OfType<StageStarted>().Select(s => s.Stage));
        Assert.Equal([1, 4, 4, 4, 4, 3], events.OfType<StageStarted>().Select(s => s.Candidates));
        var rounds = events.OfType<SwiresRound>().ToList();
        Assert.Equal([(0, true, 0.4, 4), (1, false, 0.6, 8)], rounds.Select(r => (r.Round, r.Backtrack, Math.Round(r.SecondBest, 9), r.Ranking.Count)));
        Assert.Equal([(2, 1, 0.9), (4, 1, 0.6), (2, 3, 0.4)], rounds[1].Ranking.Take(3).Select(r => (r.Index, r.Candidate, Math.Round(r.Score, 9))));
        Assert.All(rounds, r => Assert.Equal(ReasonerSettings.DefaultSwiresCutoff, r.Cutoff));
        Assert.Equal([[2, 1], [2, 1]], events.OfType<StageKept>().Select(k => k.Candidates));

        // Two reasonings from each kept caption: the best caption's first.
        var captionTexts = Of<CandidateFinished>(events, 1).Select(c => c.Text).ToList();
        Assert.EndsWith(captionTexts[2], session.Decode(session.Samples[2].Prefix));
        Assert.EndsWith(captionTexts[1], session.Decode(session.Samples[3].Prefix));
        // The best three reasonings of both rounds (0.9, 0.6, 0.4) each get one conclusion; the best-scored answer wins.
        var conclusionPrefixes = session.Samples.TakeLast(3).Select(s => session.Decode(s.Prefix)).ToList();
        Assert.EndsWith(Of<CandidateFinished>(events, 2)[1].Text, conclusionPrefixes[0]);
        Assert.EndsWith(Of<CandidateFinished>(events, 4)[1].Text, conclusionPrefixes[1]);
        Assert.EndsWith(Of<CandidateFinished>(events, 2)[3].Text, conclusionPrefixes[2]);
        Assert.Equal(1, events.OfType<StageWinner>().Last().Candidate);
        var summary = Of<CandidateFinished>(events, 0)[0].Text;
        Assert.Equal(summary + Of<CandidateFinished>(events, 3)[2].Text + Of<CandidateFinished>(events, 4)[1].Text + Of<CandidateFinished>(events, 5)[1].Text,
            final.Text);
        // The winners, in the order they come, are the answer: the chain's caption and reasoning arrive with its conclusion.
        Assert.Equal([("summary", 0, 0), ("caption", 3, 2), ("reasoning", 4, 1), ("conclusion", 5, 1)],
            events.OfType<StageWinner>().Select(w => (w.Stage, w.Index, w.Candidate)));
        Assert.Equal(final.Text, string.Concat(events.OfType<StageWinner>().Select(w => w.Text)));
        Assert.Equal(("swires", "verifier", 0), (final.Mode, final.Scorer, final.JudgeCalls));
        Assert.Equal(4 + 4 + 4 + 4 + 3, final.ScoreCalls);
    }

    [Fact]
    public async Task Swires_backtracks_at_most_four_times_keeping_every_reasoning_in_one_list()
    {
        var session = new ScriptedSession(StageText) { Score = r => IsReasoning(r) ? 0.1 : 0.5 };
        var events = await Collect(new Reasoner(session), Request(ReasoningMode.Swires, 2));

        var rounds = events.OfType<SwiresRound>().ToList();
        Assert.Equal([true, true, true, true, false], rounds.Select(r => r.Backtrack));
        Assert.Equal([4, 8, 12, 16, 20], rounds.Select(r => r.Ranking.Count));
        Assert.Equal(5, events.OfType<StageStarted>().Count(s => s.Stage == "caption"));
        // All equal: the earliest three reasonings (round one's) are concluded.
        var conclusionPrefixes = session.Samples.TakeLast(3).Select(s => session.Decode(s.Prefix)).ToList();
        for (var i = 0; i < 3; i++)
            Assert.EndsWith(Of<CandidateFinished>(events, 2)[i].Text, conclusionPrefixes[i]);
    }

    [Fact]
    public async Task The_swires_cutoff_comes_from_the_request_else_from_the_models_setting()
    {
        async Task<int> Rounds(ReasonerSettings settings, double? cutoff)
        {
            var session = new ScriptedSession(StageText) { Score = r => IsReasoning(r) ? 0.3 : 0.5 };
            var events = await Collect(new Reasoner(session, settings), Request(ReasoningMode.Swires, 2, cutoff: cutoff));
            return events.OfType<SwiresRound>().Count();
        }
        Assert.Equal(5, await Rounds(new ReasonerSettings(), null));
        Assert.Equal(1, await Rounds(new ReasonerSettings { SwiresCutoff = 0.25 }, null));
        Assert.Equal(1, await Rounds(new ReasonerSettings(), 0.2));
        Assert.Equal(5, await Rounds(new ReasonerSettings { SwiresCutoff = 0.25 }, 0.3));
    }

    /// <summary>Whole answers whose CONCLUSION is the given answer; the reasoning carries the candidate's number.</summary>
    private static Func<SampleRequest, int, string> Answering(params string[] answers) =>
        (_, i) => $"<REASONING> r{i} </REASONING>\n\n<CONCLUSION> {answers[i]} </CONCLUSION>";

    private static int Reasoning(ScoreRequest r) => int.Parse(Regex.Match(r.UserText, @" r(\d+) ").Groups[1].Value);

    [Fact]
    public async Task Self_consistency_takes_the_most_given_answer_without_scoring()
    {
        var session = new ScriptedSession(Answering("3", "4", "3.", "5"));
        var events = await Collect(new Reasoner(session), Request(ReasoningMode.SelfConsistency, 4));

        var vote = Assert.Single(events.OfType<VoteCounted>());
        Assert.Equal(("majority", 0), (vote.Decision, vote.Winner));
        Assert.Equal([("3", 2.0), ("4", 1.0), ("5", 1.0)], vote.Answers.Select(a => (a.Answer, a.Weight)));
        Assert.Equal([0, 2], vote.Answers[0].Candidates);
        Assert.Empty(session.Scored);
        Assert.Equal("3", Final(events).Conclusion);
    }

    [Fact]
    public async Task A_self_consistency_tie_is_broken_by_the_verifier_over_the_tied_answers_candidates()
    {
        double[] scores = [0.2, 0.3, 0.9, 0.1, 0.95];
        var session = new ScriptedSession(Answering("3", "4", "4", "3", "5")) { Score = r => scores[Reasoning(r)] };
        var events = await Collect(new Reasoner(session), Request(ReasoningMode.SelfConsistency, 5));

        Assert.Equal([4], session.ScoreBatches);
        Assert.DoesNotContain(events.OfType<CandidateScored>(), s => s.Candidate == 4);
        var vote = Assert.Single(events.OfType<VoteCounted>());
        Assert.Equal(("tie", 2), (vote.Decision, vote.Winner));
        Assert.Equal("4", Final(events).Conclusion);
    }

    [Fact]
    public async Task A_self_consistency_tie_names_each_scored_candidate_by_its_number_in_the_stage()
    {
        double[] scores = [0.5, 0.2, 0.9, 0.3, 0.1];
        var session = new ScriptedSession(Answering("5", "3", "4", "4", "3")) { Score = r => scores[Reasoning(r)] };
        var events = await Collect(new Reasoner(session), Request(ReasoningMode.SelfConsistency, 5));

        // Candidate 0's answer has one vote: only the tied answers' candidates 1..4 are scored, under their own numbers.
        Assert.Equal([(1, 0.2), (2, 0.9), (3, 0.3), (4, 0.1)],
            events.OfType<CandidateScored>().Select(s => (s.Candidate, Math.Round(s.Score, 9))));
        Assert.Equal(("tie", 2), (events.OfType<VoteCounted>().Single().Decision, events.OfType<VoteCounted>().Single().Winner));
    }

    [Fact]
    public async Task A_self_consistency_tie_is_broken_by_the_pairwise_judge_over_each_tied_answers_first_candidate()
    {
        var session = new ScriptedSession(Answering("3", "4", "5", "3", "4"), Enumerable.Repeat("I choose response 2", 10));
        var events = await Collect(new Reasoner(session), Request(ReasoningMode.SelfConsistency, 5, ScorerKind.Pairwise));

        var match = Assert.Single(events.OfType<JudgeComparison>());
        Assert.Equal([0, 1], new[] { match.First, match.Second }.Order());
        Assert.Equal(match.Second, match.Winner);
        Assert.Equal(match.Winner, events.OfType<VoteCounted>().Single().Winner);
        Assert.Empty(session.Scored);
    }

    [Fact]
    public async Task The_weighted_vote_sums_each_answers_scores_and_returns_its_best_scored_candidate()
    {
        double[] scores = [0.9, 0.6, 0.1, 0.6];
        var session = new ScriptedSession(Answering("A", "B", "A", "B")) { Score = r => scores[Reasoning(r)] };
        var events = await Collect(new Reasoner(session), Request(ReasoningMode.WeightedBestOfN, 4));

        var vote = Assert.Single(events.OfType<VoteCounted>());
        Assert.Equal([("a", 1.0), ("b", 1.2)], vote.Answers.Select(a => (a.Answer, Math.Round(a.Weight, 9))));
        Assert.Equal(("weighted", 1), (vote.Decision, vote.Winner));
        Assert.Equal([4], session.ScoreBatches);
        Assert.Equal("B", Final(events).Conclusion);
    }

    [Fact]
    public async Task Equal_weighted_sums_go_to_the_answer_given_first()
    {
        var session = new ScriptedSession(Answering("A", "B", "B")) { Score = r => Reasoning(r) == 0 ? 0.8 : 0.4 };
        var events = await Collect(new Reasoner(session), Request(ReasoningMode.WeightedBestOfN, 3));
        Assert.Equal(0, events.OfType<VoteCounted>().Single().Winner);
    }
}
