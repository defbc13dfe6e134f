using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Judging;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Training.Shapes;

namespace LlavaCot.Training.Train;

/// <summary>
/// The examples one round of the on-policy phase trains on, from the model's own labelled candidates:
/// <list type="bullet">
/// <item><see cref="Judges"/>: pairwise judge examples with the reference prompts, from every pair of one group's
/// candidates of which exactly one is right, in both orders;</item>
/// <item><see cref="ImageVerdicts"/> and <see cref="TextVerdicts"/>: verifier examples with the verifier's prompts
/// (reasoning: the reference pre-check, text only, which the pairwise judge also asks), as many correct as incorrect
/// for each stage;</item>
/// <item><see cref="Mistakes"/>: the reference answer of every question whose search answered wrong.</item>
/// </list>
/// </summary>
public sealed record OnPolicyPool(
    IReadOnlyList<Sample> Judges, IReadOnlyList<Sample> ImageVerdicts, IReadOnlyList<Sample> TextVerdicts, IReadOnlyList<Sample> Mistakes)
{
    /// <summary>The judge type that compares (and the verifier prompt that checks) a candidate of each graded stage.</summary>
    public static JudgeType TypeOf(string stage) => stage switch
    {
        "caption" => JudgeType.Caption,
        "reasoning" => JudgeType.Reasoning,
        "conclusion" => JudgeType.Conclusion,
        "answer" => JudgeType.All,
        _ => throw new ArgumentOutOfRangeException(nameof(stage), $"no on-policy label for stage '{stage}'"),
    };

    public static OnPolicyPool From(IReadOnlyList<Attempt> attempts, SeedStream rng)
    {
        var judges = new List<Sample>();
        var verdicts = new Dictionary<string, (List<Sample> Right, List<Sample> Wrong)>();
        foreach (var attempt in attempts)
        {
            var q = attempt.Question;
            foreach (var group in attempt.Candidates.GroupBy(c => (c.Stage, c.Group)))
            {
                var type = TypeOf(group.Key.Stage);
                // The same text twice teaches nothing new and would weigh one candidate double.
                var distinct = group.DistinctBy(c => c.Text).ToList();
                foreach (var right in distinct.Where(c => c.Right))
                {
                    foreach (var wrong in distinct.Where(c => !c.Right))
                    {
                        judges.Add(new Sample(JudgeExamples.Compared(type, q.Question.Text, right.Text, wrong.Text, firstIsGood: true), q.Scene));
                        judges.Add(new Sample(JudgeExamples.Compared(type, q.Question.Text, wrong.Text, right.Text, firstIsGood: false), q.Scene));
                    }
                }
                foreach (var c in distinct)
                {
                    if (Verdict(type, q, c) is not { } sample)
                        continue;
                    if (!verdicts.TryGetValue(group.Key.Stage, out var lists))
                        verdicts[group.Key.Stage] = lists = ([], []);
                    (c.Right ? lists.Right : lists.Wrong).Add(sample);
                }
            }
        }
        var balanced = verdicts.OrderBy(v => v.Key, StringComparer.Ordinal).SelectMany(v =>
        {
            var count = Math.Min(v.Value.Right.Count, v.Value.Wrong.Count);
            return Pick(v.Value.Right, count, rng).Concat(Pick(v.Value.Wrong, count, rng));
        }).ToList();
        var mistakes = attempts.Where(a => !a.AnswerRight)
            .Select(a => new Sample(JudgeExamples.Answer(a.Question.Question, a.Question.Reference), a.Question.Scene)).ToList();
        return new OnPolicyPool(judges, balanced.Where(s => s.Example.WithImage).ToList(), balanced.Where(s => !s.Example.WithImage).ToList(), mistakes);
    }

    /// <summary>The verifier example for a candidate: its prompt (instruction, then the candidate), replied with the verdict.</summary>
    private static Sample? Verdict(JudgeType type, OnPolicyQuestion q, LabelledCandidate c)
    {
        if (VerifierPrompts.For(type, q.Question.Text, c.Text) is not { } request)
            return null;
        var example = new TrainingExample($"verify:{type.ToString().ToLowerInvariant()}", request.UserText, request.WithImage,
            c.Right ? VerifierPrompts.Correct : VerifierPrompts.Incorrect);
        return new Sample(example, request.WithImage ? q.Scene : null);
    }

    /// <summary><paramref name="count"/> of <paramref name="items"/>, drawn without replacement.</summary>
    private static IEnumerable<Sample> Pick(List<Sample> items, int count, SeedStream rng)
    {
        var order = items.ToArray();
        for (var i = 0; i < count; i++)
        {
            var j = i + rng.NextInt(order.Length - i);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order.Take(count);
    }

    /// <summary>Counts for the log: examples of each kind.</summary>
    public string Describe() =>
        $"{Judges.Count} judge examples ({Count(Judges)}), {ImageVerdicts.Count + TextVerdicts.Count} verifier examples " +
        $"({Count(ImageVerdicts.Concat(TextVerdicts))}), {Mistakes.Count} mistakes";

    private static string Count(IEnumerable<Sample> samples) =>
        string.Join(", ", samples.GroupBy(s => s.Example.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}"));
}
