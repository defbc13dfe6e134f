using LlavaCot.Reasoning.Events;

namespace LlavaCot.Training.Eval;

/// <summary>
/// Over a stage's (right, wrong) candidate pairs: how many there were and how many the scorer preferred the right one
/// in (a tie counts half). <see cref="CiLow"/> is the Wilson lower bound; it treats the pairs as independent, which
/// pairs of one question's candidates are not, so it is optimistic.
/// </summary>
public sealed record StageAgreement(int Comparisons, double Agreed)
{
    public double? Rate => Comparisons == 0 ? null : Agreed / Comparisons;

    public double? CiLow => Comparisons == 0 ? null : Interval.Wilson(Agreed, Comparisons).Low;

    public static StageAgreement Sum(IEnumerable<StageAgreement> parts)
    {
        var list = parts.ToList();
        return new StageAgreement(list.Sum(p => p.Comparisons), list.Sum(p => p.Agreed));
    }
}

/// <summary>A candidate the verifier scored, and whether it is right.</summary>
public sealed record ScoredCandidate(string Stage, double Score, bool Right);

/// <summary>
/// The verifier's cutoff on a stage: the P(correct) at or below which a candidate is taken as wrong that best separates
/// right from wrong candidates (the highest balanced accuracy, the mean of the right and the wrong candidates' hit
/// rates), for choosing the SWIRES cutoff on a validation set.
/// </summary>
public sealed record VerifierCutoff(double Cutoff, double BalancedAccuracy, int Right, int Wrong)
{
    public static VerifierCutoff? Best(IReadOnlyList<ScoredCandidate> scored)
    {
        var right = scored.Count(s => s.Right);
        var wrong = scored.Count - right;
        if (right == 0 || wrong == 0)
            return null;
        // Candidate cutoffs: each score seen; a score at or below the cutoff counts as "wrong".
        return scored.Select(s => s.Score).Distinct().Order().Select(c => new VerifierCutoff(c,
                0.5 * (scored.Count(s => s.Right && s.Score > c) / (double)right + scored.Count(s => !s.Right && s.Score <= c) / (double)wrong),
                right, wrong))
            .MaxBy(t => t.BalancedAccuracy);
    }
}

/// <summary>One (right, wrong) pair of a stage's candidates and how the scorer treated it: 1 preferred the right one, 0 the wrong one, 0.5 a tie.</summary>
public sealed record AgreementPair(string Stage, double Agreed);

/// <summary>
/// Reads one search's events and finds, for every stage with a grading criterion (<see cref="Grading.StageRight"/>),
/// the pairs of candidates of which exactly one is right, and whether the scorer preferred the right one:
/// <list type="bullet">
/// <item>pairwise: the comparisons the knockout made (its winner is the one preferred);</item>
/// <item>verifier: every right/wrong pair of the candidates a stage scored, the higher P(correct) preferred, equal
/// scores a tie;</item>
/// <item>vote (key <see cref="Vote"/>): every right/wrong pair of a vote's candidates, the one whose answer has the
/// greater tally (votes, or summed P(correct) in a weighted vote) preferred, equal tallies a tie (candidates of the
/// same answer, graded differently only by its spelling, always tie).</item>
/// </list>
/// Stages are keyed by name: every caption stage of a search (SWIRES has one per round) counts under "caption".
/// </summary>
public sealed class AgreementCounter(EvalItem item)
{
    public const string Vote = "vote";

    public const string PairwiseRule = "pairwise: the knockout's comparisons with exactly one side right; preferred = the comparison's winner";
    public const string VerifierRule = "verifier: every right/wrong pair of a stage's scored candidates; preferred = higher P(correct), equal scores count half";
    public const string VoteRule = "vote: every right/wrong pair of a vote's candidates; preferred = the one whose answer has the greater tally " +
                                   "(votes, or summed P(correct) when weighted), equal tallies count half";

    private readonly Dictionary<(int Index, int Candidate), string> _texts = [];
    private readonly Dictionary<int, string> _stages = [];
    private readonly Dictionary<int, Dictionary<int, double>> _scores = [];
    private readonly List<AgreementPair> _pairs = [];

    public void Add(ReasonEvent e)
    {
        switch (e)
        {
            case CandidateFinished c:
                _texts[(c.Index, c.Candidate)] = c.Text;
                _stages[c.Index] = c.Stage;
                break;
            case JudgeComparison j when Right(j.Stage, j.Index, j.First) is { } first && Right(j.Stage, j.Index, j.Second) is { } second
                                        && first != second:
                _pairs.Add(new AgreementPair(j.Stage, j.Winner == (first ? j.First : j.Second) ? 1 : 0));
                break;
            case CandidateScored s:
                if (!_scores.TryGetValue(s.Index, out var scores))
                    _scores[s.Index] = scores = [];
                scores[s.Candidate] = s.Score;
                break;
            case VoteCounted v:
                CountVote(v);
                break;
        }
    }

    /// <summary>The pairs found so far, the verifier's included (call once the search has ended).</summary>
    public IReadOnlyList<AgreementPair> Pairs()
    {
        var pairs = new List<AgreementPair>(_pairs);
        foreach (var (index, scores) in _scores)
        {
            var stage = _stages.GetValueOrDefault(index, "");
            var graded = scores.Keys.Order().Select(c => (Candidate: c, Right: Right(stage, index, c))).Where(c => c.Right is not null).ToList();
            for (var a = 0; a < graded.Count; a++)
            {
                for (var b = a + 1; b < graded.Count; b++)
                {
                    if (graded[a].Right == graded[b].Right)
                        continue;
                    var (right, wrong) = graded[a].Right == true ? (graded[a].Candidate, graded[b].Candidate) : (graded[b].Candidate, graded[a].Candidate);
                    pairs.Add(new AgreementPair(stage, Preferred(scores[right], scores[wrong])));
                }
            }
        }
        return pairs;
    }

    /// <summary>Every verifier-scored candidate with a grading criterion: its stage, P(correct) and whether it is right.</summary>
    public IReadOnlyList<ScoredCandidate> Scored() =>
        _scores.SelectMany(s => s.Value.Select(c => (Stage: _stages.GetValueOrDefault(s.Key, ""), Index: s.Key, Candidate: c.Key, Score: c.Value)))
            .Select(c => Right(c.Stage, c.Index, c.Candidate) is { } right ? new ScoredCandidate(c.Stage, c.Score, right) : null)
            .OfType<ScoredCandidate>().ToList();

    /// <summary>Totals per stage over many searches' pairs.</summary>
    public static IReadOnlyDictionary<string, StageAgreement> Totals(IEnumerable<AgreementPair> pairs) =>
        pairs.GroupBy(p => p.Stage).ToDictionary(g => g.Key, g => new StageAgreement(g.Count(), g.Sum(p => p.Agreed)));

    private void CountVote(VoteCounted v)
    {
        var weight = v.Answers.SelectMany(t => t.Candidates.Select(c => (Candidate: c, t.Weight))).ToDictionary(x => x.Candidate, x => x.Weight);
        var graded = weight.Keys.Order().Select(c => (Candidate: c, Right: Right(v.Stage, v.Index, c))).Where(c => c.Right is not null).ToList();
        foreach (var right in graded.Where(c => c.Right == true))
            foreach (var wrong in graded.Where(c => c.Right == false))
                _pairs.Add(new AgreementPair(Vote, Preferred(weight[right.Candidate], weight[wrong.Candidate])));
    }

    private static double Preferred(double right, double wrong) => right > wrong ? 1 : right < wrong ? 0 : 0.5;

    private bool? Right(string stage, int index, int candidate) =>
        _texts.TryGetValue((index, candidate), out var text) ? Grading.StageRight(stage, text, item) : null;
}
