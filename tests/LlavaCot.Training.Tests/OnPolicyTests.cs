using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Judging;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Runtime;
using LlavaCot.Training.Shapes;
using LlavaCot.Training.Train;

namespace LlavaCot.Training.Tests;

public class OnPolicyTests
{
    /// <summary>The answer text through stage k (1 = SUMMARY … 4 = all), as a stage candidate of the search ends.</summary>
    private static string Through(ShapeAnswer answer, int stages) => string.Join("\n\n", answer.Text.Split("\n\n").Take(stages));

    private static OnPolicyQuestion Question(int index)
    {
        var (scene, question, answer) = ShapeDataset.Draw(31, index);
        return new OnPolicyQuestion(scene, question, answer);
    }

    /// <summary>The scene with one shape's colour changed: a caption of it is wrong for the real scene.</summary>
    private static ShapeScene Recoloured(ShapeScene scene) => scene with
    {
        Shapes = scene.Shapes.Select((s, i) => i == 0 ? s with { Colour = ShapeScene.Colours.First(c => c != s.Colour) } : s).ToList(),
    };

    /// <summary>A reasoning that ends on a value no question of the task has as its answer.</summary>
    private const string WrongReasoning = "Counting the shapes in the caption one by one: 1. There are 9 shapes.";

    [Fact]
    public void Right_stages_are_labelled_right_and_deliberately_wrong_ones_wrong_against_the_rendered_scene()
    {
        for (var i = 0; i < 40; i++)
        {
            var q = Question(i);
            var item = q.Item;
            var right = q.Reference;
            // The scene the image is rendered from is what the labels check: the PNG shows exactly its shapes.
            Assert.NotEmpty(ShapeRenderer.Png(q.Scene));
            var wrongCaption = right with { Caption = ShapeAnswer.Describe(Recoloured(q.Scene)) };
            var wrongAnswer = q.Question.Answer(q.Scene) is "Yes" or "No" ? (q.Question.Answer(q.Scene) == "Yes" ? "No" : "Yes") : "purple";

            Assert.True(Eval.Grading.StageRight("caption", Through(right, 2), item), $"{i}: the reference caption");
            Assert.False(Eval.Grading.StageRight("caption", Through(wrongCaption, 2), item), $"{i}: a recoloured caption");
            Assert.True(Eval.Grading.StageRight("reasoning", Through(right, 3), item), $"{i}: the reference reasoning");
            Assert.False(Eval.Grading.StageRight("reasoning", Through(right with { Reasoning = WrongReasoning }, 3), item), $"{i}: a wrong reasoning");
            Assert.True(Eval.Grading.StageRight("conclusion", right.Text, item), $"{i}: the reference conclusion");
            Assert.False(Eval.Grading.StageRight("conclusion", (right with { Conclusion = wrongAnswer }).Text, item), $"{i}: a wrong conclusion");
            Assert.True(Eval.Grading.StageRight("answer", right.Text, item));
            Assert.False(Eval.Grading.StageRight("answer", (right with { Conclusion = wrongAnswer }).Text, item));
        }
    }

    /// <summary>Attempts as the sampler reports them: per question a group of each graded stage, right and wrong mixed.</summary>
    internal static IReadOnlyList<Attempt> Attempts(int count)
    {
        var attempts = new List<Attempt>();
        for (var i = 0; i < count; i++)
        {
            var q = Question(i);
            var right = q.Reference;
            var wrongCaption = right with { Caption = ShapeAnswer.Describe(Recoloured(q.Scene)) };
            var wrongReasoning = right with { Reasoning = WrongReasoning };
            var wrongConclusion = right with { Conclusion = "purple" };
            var candidates = new List<LabelledCandidate>
            {
                new("caption", 1, Through(right, 2), true), new("caption", 1, Through(right, 2), true),
                new("caption", 1, Through(wrongCaption, 2), false),
                new("reasoning", 2, Through(right, 3), true), new("reasoning", 2, Through(wrongReasoning, 3), false),
                new("reasoning", 2, Through(wrongReasoning, 3) + " ", false),
                new("conclusion", 3, right.Text, true), new("conclusion", 3, wrongConclusion.Text, false),
                new("answer", 0, right.Text, true), new("answer", 0, wrongConclusion.Text, false), new("answer", 0, wrongCaption.Text, true),
            };
            attempts.Add(new Attempt(q, candidates, AnswerRight: i % 3 != 0));
        }
        return attempts;
    }

    [Fact]
    public void The_pool_has_judge_pairs_in_both_orders_balanced_verdicts_for_every_stage_and_the_mistakes_reference_answers()
    {
        var attempts = Attempts(6);
        var pool = OnPolicyPool.From(attempts, new SeedStream(3));

        // Judges: every (right, wrong) pair of distinct texts in a group, both orders; duplicates count once.
        var judges = pool.Judges.GroupBy(s => s.Example.Kind).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(6 * 1 * 1 * 2, judges["judge:caption"].Count);
        Assert.Equal(6 * 1 * 2 * 2, judges["judge:reasoning"].Count);
        Assert.Equal(6 * 1 * 1 * 2, judges["judge:conclusion"].Count);
        Assert.Equal(6 * 2 * 1 * 2, judges["judge:all"].Count);
        foreach (var (_, examples) in judges)
        {
            Assert.Equal(examples.Count / 2, examples.Count(e => e.Example.Reply.EndsWith("response 1.", StringComparison.Ordinal)));
            Assert.All(examples, e => Assert.True(e.Example.WithImage && e.Scene is not null));
        }
        // The prompt is the reference judge prompt of the two contents, in the order shown.
        var first = judges["judge:caption"][0];
        var a = attempts[0].Candidates[0].Text;
        var b = attempts[0].Candidates[2].Text;
        Assert.Equal(JudgePrompts.Comparison(JudgeType.Caption, attempts[0].Question.Question.Text, null,
            [JudgeExtraction.From(JudgeType.Caption, a)!.Content, JudgeExtraction.From(JudgeType.Caption, b)!.Content]), first.Example.Prompt);
        Assert.EndsWith("I choose response 1.", first.Example.Reply);

        // Verdicts: the verifier's prompts; as many correct as incorrect for each stage; reasoning text-only.
        var verdicts = pool.ImageVerdicts.Concat(pool.TextVerdicts).GroupBy(s => s.Example.Kind).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(["verify:all", "verify:caption", "verify:conclusion", "verify:reasoning"], verdicts.Keys.Order(StringComparer.Ordinal));
        foreach (var (_, examples) in verdicts)
        {
            Assert.Equal(examples.Count(e => e.Example.Reply == VerifierPrompts.Correct), examples.Count(e => e.Example.Reply == VerifierPrompts.Incorrect));
            Assert.True(examples.Count >= 2 * 6);
        }
        Assert.All(pool.TextVerdicts, s => Assert.Equal("verify:reasoning", s.Example.Kind));
        Assert.All(pool.ImageVerdicts, s => Assert.NotNull(s.Scene));
        var caption = VerifierPrompts.For(JudgeType.Caption, attempts[0].Question.Question.Text, b)!;
        Assert.Contains(pool.ImageVerdicts, s => s.Example.Prompt == caption.UserText && s.Example.Reply == VerifierPrompts.Incorrect);

        // Mistakes: the reference answer of every question answered wrong, and of no other.
        Assert.Equal(attempts.Where(x => !x.AnswerRight).Select(x => x.Question.Reference.Text), pool.Mistakes.Select(s => s.Example.Reply));
    }

    [Fact]
    public void A_few_on_policy_steps_lower_the_loss_of_every_kind_of_batch()
    {
        using var tiny = new TinyTraining();
        var options = tiny.Options(steps: 1);
        using (var setUp = Trainer.Create(options, TextWriter.Null))
            setUp.Run();
        var pool = OnPolicyPool.From(Attempts(8), new SeedStream(4));
        using var trainer = Trainer.Continue(options with { PerceptionWeight = 0 }, options.OutputDirectory);
        var rng = new SeedStream(9);
        var answers = new ExampleStream(11);
        var held = new[] { "judge", "verdict", "mistake" }.ToDictionary(k => k, k => k == "verdict"
            ? pool.ImageVerdicts.Take(4).ToList()
            : OnPolicyPhase.Batch(k, pool, answers, rng, 4));
        held["text verdict"] = pool.TextVerdicts.Take(4).ToList();
        var before = held.ToDictionary(h => h.Key, h => trainer.Loss(h.Value));
        var kinds = new[] { "judge", "verdict", "mistake", "answer", "synthetic" };
        for (var s = 0; s < 24; s++)
            trainer.TrainOn(OnPolicyPhase.Batch(kinds[s % kinds.Length], pool, answers, rng, 4), 3e-3);
        foreach (var (kind, batch) in held)
            Assert.True(trainer.Loss(batch) < before[kind], $"{kind}: loss {trainer.Loss(batch)} not below {before[kind]}");
    }

    [Fact]
    public async Task The_phase_samples_through_the_engine_trains_checkpoints_each_round_and_saves_a_model_the_server_loads()
    {
        using var tiny = new TinyTraining();
        var options = tiny.Options(steps: 2) with
        {
            OnPolicy = new OnPolicyOptions { Rounds = 2, StepsPerRound = 2, Questions = 2, N = 2, MaxNewTokens = 6, Workers = 1, WarmupSteps = 1 },
        };
        using (var baseRun = Trainer.Create(options, TextWriter.Null))
            baseRun.Run();
        var log = new StringWriter();
        var steps = new List<int>();
        OnPolicyPhase.Run(options, log, p => steps.Add(p.Step));
        Assert.Equal([1, 2, 3, 4], steps);
        Assert.True(OnPolicyPhase.Started(options));
        Assert.Contains("on-policy round 1/2: 2 questions searched", log.ToString());
        Assert.Contains("on-policy round 2/2", log.ToString());
        // Questions are fresh each round and never the base stream's.
        Assert.NotEqual(OnPolicyPhase.Questions(options, 0)[0].Question.Text + OnPolicyPhase.Questions(options, 0)[0].Scene,
            OnPolicyPhase.Questions(options, 1)[0].Question.Text + OnPolicyPhase.Questions(options, 1)[0].Scene);

        using var host = await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = options.OutputDirectory, Device = "cpu" });
        Assert.Empty(host.Model.UnusedWeights);
        // A finished phase resumes as finished: nothing runs again.
        var again = new List<int>();
        OnPolicyPhase.Run(options, TextWriter.Null, p => again.Add(p.Step));
        Assert.Empty(again);
    }

    [Fact]
    public async Task The_sampler_labels_the_committed_models_own_candidates_each_continuing_the_kept_prefix()
    {
        using var host = await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = BundledModel.Directory, Device = "cpu" });
        var q = Question(2);
        var staged = await OnPolicySampler.AttemptAsync(host.Reasoner, q, ReasoningMode.StageBeam, 3, 5, new DateOnly(2024, 11, 26), default);
        Assert.Equal(["caption", "reasoning", "conclusion"], staged.Candidates.Select(c => c.Stage).Distinct());
        Assert.All(staged.Candidates.GroupBy(c => c.Stage), g => Assert.Equal(3, g.Count()));
        // A later stage's candidates all continue the same kept text of the earlier stages.
        var captions = staged.Candidates.Where(c => c.Stage == "caption").Select(c => c.Text).ToList();
        var reasonings = staged.Candidates.Where(c => c.Stage == "reasoning").Select(c => c.Text).ToList();
        var kept = captions.First(c => reasonings[0].StartsWith(c, StringComparison.Ordinal));
        Assert.All(reasonings, r => Assert.StartsWith(kept, r));
        Assert.All(staged.Candidates, c => Assert.Equal(Eval.Grading.StageRight(c.Stage, c.Text, q.Item), c.Right));

        var whole = await OnPolicySampler.AttemptAsync(host.Reasoner, q, ReasoningMode.BestOfN, 3, 5, new DateOnly(2024, 11, 26), default);
        var answers = whole.Candidates.Where(c => c.Stage == "answer").ToList();
        Assert.Equal(3, answers.Count);
        Assert.All(answers, c => Assert.StartsWith("<SUMMARY>", c.Text.TrimStart()));
        // Each whole answer also gives its stages, cut where their tags close; cuts after the same text share a group.
        var stages = whole.Candidates.Where(c => c.Stage != "answer").ToList();
        Assert.Equal(["caption", "reasoning", "conclusion"], stages.Select(c => c.Stage).Distinct());
        Assert.All(stages, c => Assert.Contains(answers, a => a.Text.StartsWith(c.Text, StringComparison.Ordinal)));
        Assert.All(stages, c => Assert.Equal(Eval.Grading.StageRight(c.Stage, c.Text, q.Item), c.Right));
        foreach (var group in stages.GroupBy(c => c.Group))
        {
            var stage = Answers.Stages.Single(st => st.Name == group.First().Stage);
            Assert.Single(group.Select(c => c.Text[..c.Text.IndexOf(stage.Open, StringComparison.Ordinal)]).Distinct());
        }
    }
}
