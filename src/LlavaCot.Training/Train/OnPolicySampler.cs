using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Reasoning.Strategies;
using LlavaCot.Runtime;
using LlavaCot.Training.Eval;
using LlavaCot.Training.Shapes;

namespace LlavaCot.Training.Train;

/// <summary>A question of the on-policy phase: a fresh training scene, its question and the reference answer.</summary>
public sealed record OnPolicyQuestion(ShapeScene Scene, ShapeQuestion Question, ShapeAnswer Reference)
{
    /// <summary>The question as the evaluation grades it (<see cref="Grading.StageRight"/> labels candidates with it).</summary>
    public EvalItem Item => new("on-policy", null, Question.Text, [Question.Answer(Scene)], Reference.Text, Question.Type);
}

/// <summary>One candidate the search sampled: its stage, the answer text so far as the scorers read it, and its label.</summary>
/// <param name="Group">Candidates of one group were sampled from the same prefix (one stage of one search).</param>
public sealed record LabelledCandidate(string Stage, int Group, string Text, bool Right);

/// <summary>What one search on an on-policy question sampled, labelled, and whether its answer was right.</summary>
public sealed record Attempt(OnPolicyQuestion Question, IReadOnlyList<LabelledCandidate> Candidates, bool AnswerRight);

/// <summary>
/// Samples the model's own candidates as the searches do, through the serving engine on the saved weights: even
/// questions run stage_beam (every stage's N candidates continue the kept prefix), odd ones best_of_n (N whole answers),
/// both at the request defaults (temperature 0.6, top-p 0.9) and with the verifier choosing what is kept; a whole
/// answer also gives its caption, reasoning and conclusion as candidates (<see cref="StagesOf"/>). Each candidate is
/// labelled against its scene (<see cref="Grading.StageRight"/>): a caption lists exactly the scene's
/// shapes, a reasoning's last sentence states the right value, a conclusion or whole answer is the right answer.
/// </summary>
public static class OnPolicySampler
{
    public static async Task<IReadOnlyList<Attempt>> CollectAsync(string modelDir, IReadOnlyList<OnPolicyQuestion> questions, OnPolicyOptions options,
        ulong seed, DateOnly date, Action<int>? progress = null, CancellationToken ct = default)
    {
        var hosts = new List<ModelHost>();
        var threads = TorchSharp.torch.get_num_threads();
        try
        {
            var workers = options.Workers;
            for (var i = 0; i < workers; i++)
                hosts.Add(await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = modelDir, Device = "cpu" }, ct));
            TorchSharp.torch.set_num_threads(Math.Max(1, threads / workers));
            var attempts = new Attempt[questions.Count];
            var next = -1;
            var done = 0;
            await Task.WhenAll(hosts.Select(async host =>
            {
                for (var i = Interlocked.Increment(ref next); i < questions.Count; i = Interlocked.Increment(ref next))
                {
                    var mode = i % 2 == 0 ? ReasoningMode.StageBeam : ReasoningMode.BestOfN;
                    attempts[i] = await AttemptAsync(host.Reasoner, questions[i], mode, options.N, seed + (ulong)i, date, ct, options.MaxNewTokens);
                    progress?.Invoke(Interlocked.Increment(ref done));
                }
            }));
            return attempts;
        }
        finally
        {
            hosts.ForEach(h => h.Dispose());
            TorchSharp.torch.set_num_threads(threads);
        }
    }

    /// <summary>One search, its candidates rebuilt from its events: a stage's text continues the winners before it.</summary>
    public static async Task<Attempt> AttemptAsync(Reasoner reasoner, OnPolicyQuestion question, ReasoningMode mode, int n, ulong seed,
        DateOnly date, CancellationToken ct, int maxNewTokens = StopCondition.DefaultMaxNewTokens)
    {
        var request = new ReasonRequest("on-policy", ShapeRenderer.Png(question.Scene), question.Question.Text, new ReasonOptions
        {
            Mode = mode, BeamSize = n, Seed = seed, Date = date, Scorer = ScorerKind.Verifier, MaxNewTokens = maxNewTokens,
        });
        var item = question.Item;
        var prefix = "";
        var candidates = new List<LabelledCandidate>();
        ReasonResult? result = null;
        await foreach (var e in reasoner.ReasonAsync(request, ct))
        {
            switch (e)
            {
                case CandidateFinished c when Grading.StageRight(c.Stage, prefix + c.Text, item) is { } right:
                    candidates.Add(new LabelledCandidate(c.Stage, c.Index, prefix + c.Text, right));
                    break;
                case StageWinner w:
                    prefix += w.Text;
                    break;
                case FinalAnswer f:
                    result = f.Result;
                    break;
                case ReasonError error:
                    throw new InvalidOperationException($"on-policy sampling: {error.Message}", error.Cause);
            }
        }
        var answer = result ?? throw new InvalidOperationException("on-policy sampling: the search ended without an answer");
        return new Attempt(question, [.. candidates, .. StagesOf(candidates.Where(c => c.Stage == SearchContext.AnswerStage).ToList(), item)],
            item.IsCorrect(answer.Conclusion));
    }

    /// <summary>
    /// The stages inside whole answers: each answer cut after its caption, reasoning and conclusion. Cuts that follow the
    /// same earlier text form a group, as a stage's candidates in the stage search do (their earlier stages are the same).
    /// </summary>
    public static IEnumerable<LabelledCandidate> StagesOf(IReadOnlyList<LabelledCandidate> answers, EvalItem item)
    {
        var groups = new Dictionary<(string Stage, string Before), int>();
        foreach (var (stage, open, close) in Answers.Stages.Skip(1))
        {
            foreach (var answer in answers)
            {
                var start = answer.Text.IndexOf(open, StringComparison.Ordinal);
                var end = start < 0 ? -1 : answer.Text.IndexOf(close, start, StringComparison.Ordinal);
                if (end < 0 || Grading.StageRight(stage, answer.Text[..(end + close.Length)], item) is not { } right)
                    continue;
                var key = (stage, answer.Text[..start]);
                if (!groups.TryGetValue(key, out var group))
                    groups[key] = group = WholeAnswerGroups + groups.Count;
                yield return new LabelledCandidate(stage, group, answer.Text[..(end + close.Length)], right);
            }
        }
    }

    /// <summary>Groups cut from whole answers are numbered from here (a stage search's are its stage indices).</summary>
    private const int WholeAnswerGroups = 100;
}
