using System.Text.RegularExpressions;

namespace LlavaCot.Reasoning.Scoring;

/// <summary>One distinct answer of a vote: the candidates that gave it (in order) and their summed weight.</summary>
/// <param name="Answer">The normalised CONCLUSION (<see cref="Votes.Normalise"/>).</param>
/// <param name="Weight">The number of candidates (a majority vote) or the sum of their P(correct) (a weighted vote).</param>
public sealed record VoteTally(string Answer, IReadOnlyList<int> Candidates, double Weight);

/// <summary>Votes over whole answers: by count (self-consistency) or by summed verifier score (weighted best-of-N).</summary>
public static partial class Votes
{
    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    /// <summary>
    /// The CONCLUSION as votes compare it: its text (<see cref="Answers.Conclusion"/>), white space folded to single
    /// spaces, lower case, without a final period: "3." and " 3 " are the same answer.
    /// </summary>
    public static string Normalise(string answerText) =>
        Spaces().Replace(Answers.Conclusion(answerText), " ").Trim().TrimEnd('.').Trim().ToLowerInvariant();

    /// <summary>The distinct answers of <paramref name="texts"/> in order of first appearance, each weighted by
    /// <paramref name="weights"/> (1 per candidate when null).</summary>
    public static IReadOnlyList<VoteTally> Tally(IReadOnlyList<string> texts, IReadOnlyList<double>? weights = null)
    {
        var tallies = new List<(string Answer, List<int> Candidates, double Weight)>();
        for (var i = 0; i < texts.Count; i++)
        {
            var answer = Normalise(texts[i]);
            var at = tallies.FindIndex(t => t.Answer == answer);
            if (at < 0)
            {
                tallies.Add((answer, [], 0));
                at = tallies.Count - 1;
            }
            tallies[at].Candidates.Add(i);
            tallies[at] = tallies[at] with { Weight = tallies[at].Weight + (weights?[i] ?? 1) };
        }
        return tallies.Select(t => new VoteTally(t.Answer, t.Candidates, t.Weight)).ToList();
    }

    /// <summary>The tallies sharing the highest weight, in order of first appearance (one unless there is a tie).</summary>
    public static IReadOnlyList<VoteTally> Leaders(IReadOnlyList<VoteTally> tallies)
    {
        var top = tallies.Max(t => t.Weight);
        return tallies.Where(t => t.Weight == top).ToList();
    }
}
