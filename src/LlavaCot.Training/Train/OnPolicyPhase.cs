using System.Diagnostics;
using LlavaCot.Reasoning;
using LlavaCot.Training.Shapes;

namespace LlavaCot.Training.Train;

/// <summary>What a round of the on-policy phase sampled, for the log.</summary>
public sealed record OnPolicyRound(int Round, int Rounds, int Questions, double Seconds, IReadOnlyDictionary<string, (int Right, int Count)> Labels,
    double AnswersRight, OnPolicyPool Pool)
{
    public override string ToString() =>
        FormattableString.Invariant($"on-policy round {Round + 1}/{Rounds}: {Questions} questions searched in {Seconds:F0} s, answers right {AnswersRight:P1}; ") +
        "right candidates: " + string.Join(", ", Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key} {l.Value.Right}/{l.Value.Count}")) +
        $"; {Pool.Describe()}";
}

/// <summary>
/// The phase after the base steps: the model learns from its own mistakes. Each round saves the current weights,
/// samples the model's own candidates on fresh training scenes through the serving engine
/// (<see cref="OnPolicySampler"/>), labels them against the scenes and builds judge, verifier and mistake examples
/// (<see cref="OnPolicyPool"/>), then trains <see cref="OnPolicyOptions.StepsPerRound"/> steps on them mixed with
/// fresh reference answers. Every round's scenes, seeds and batch order come from the training seed and the round
/// alone, and a checkpoint is written at each round's end, so a stopped run resumes bit-exactly.
/// </summary>
public static class OnPolicyPhase
{
    public const string Folder = "on-policy";
    private const ulong Salt = 0x6F6E_2D70_6F6C_6963UL;

    private static string CheckpointDir(TrainOptions o) => Path.Combine(o.OutputDirectory, Trainer.CheckpointFolder, Folder);

    /// <summary>Whether the phase has written a checkpoint (the base steps are then done).</summary>
    public static bool Started(TrainOptions o) => File.Exists(Path.Combine(CheckpointDir(o), "state.json"));

    /// <summary>Fresh training questions of round <paramref name="round"/>: their own seed, never the base stream's.</summary>
    public static IReadOnlyList<OnPolicyQuestion> Questions(TrainOptions o, int round) =>
        Enumerable.Range(round * o.OnPolicy.Questions, o.OnPolicy.Questions).Select(i =>
        {
            var (scene, question, answer) = ShapeDataset.Draw(o.Seed ^ Salt, i);
            return new OnPolicyQuestion(scene, question, answer);
        }).ToList();

    /// <summary>Runs the remaining rounds from the base model in the output folder (or the phase's checkpoint), then saves.</summary>
    public static void Run(TrainOptions o, TextWriter log, Action<TrainProgress>? progress = null, Action<int, int>? sampling = null,
        CancellationToken ct = default)
    {
        var p = o.OnPolicy;
        var total = p.Rounds * p.StepsPerRound;
        var phase = o with
        {
            Seed = o.Seed ^ Salt, PerceptionWeight = 0, FreezeVision = true, LearningRate = p.LearningRate, MinLearningRate = p.MinLearningRate,
            WarmupSteps = p.WarmupSteps, Steps = total,
        };
        using var trainer = Trainer.Continue(phase, o.OutputDirectory);
        if (Started(o))
        {
            trainer.LoadCheckpoint(CheckpointDir(o));
            log.WriteLine($"on-policy phase resumed at step {trainer.Step} of {total}");
        }
        var clock = Stopwatch.StartNew();
        var first = trainer.Step;
        long tokens = 0;
        while (trainer.Step < total)
        {
            var round = trainer.Step / p.StepsPerRound;
            var pool = Sample(o, trainer, round, log, sampling, ct);
            var rng = new SeedStream(phase.Seed ^ (ulong)(round + 1) * 0x9E3779B97F4A7C15UL);
            // Fresh reference answers from a stream of the round's own (the searched questions come from another seed).
            var answers = new ExampleStream(new SeedStream(phase.Seed ^ 0x616E_7377_6572UL ^ (ulong)round).Next());
            for (var s = 0; s < p.StepsPerRound; s++)
            {
                ct.ThrowIfCancellationRequested();
                var kind = p.Mix.Pick(rng.NextDouble());
                var batch = Batch(kind, pool, answers, rng, o.BatchSize);
                tokens += trainer.TrainOn(batch, LearningRate.At(trainer.Step, p.LearningRate, p.MinLearningRate, p.WarmupSteps, total)).Tokens;
                var elapsed = clock.Elapsed;
                progress?.Invoke(new TrainProgress(trainer.Step, total, trainer.RunningLoss, tokens / Math.Max(elapsed.TotalSeconds, 1e-9), elapsed,
                    elapsed / (trainer.Step - first) * (total - trainer.Step), kind));
            }
            trainer.WriteCheckpoint(CheckpointDir(o));
        }
        trainer.Save(o.OutputDirectory, $"trained {o.Steps} steps, then {total} on-policy steps in {p.Rounds} rounds, seed {o.Seed}");
    }

    /// <summary>Saves the current weights, searches the round's questions with them, and builds the round's examples.</summary>
    private static OnPolicyPool Sample(TrainOptions o, Trainer trainer, int round, TextWriter log, Action<int, int>? sampling, CancellationToken ct)
    {
        var p = o.OnPolicy;
        trainer.Save(o.OutputDirectory, $"trained {o.Steps} steps, then {trainer.Step} on-policy steps, seed {o.Seed}");
        var questions = Questions(o, round);
        var clock = Stopwatch.StartNew();
        var seed = new SeedStream(o.Seed ^ Salt ^ (ulong)round).Next();
        var attempts = OnPolicySampler.CollectAsync(o.OutputDirectory, questions, p, seed, o.Date,
            done => sampling?.Invoke(done, questions.Count), ct).GetAwaiter().GetResult();
        var pool = OnPolicyPool.From(attempts, new SeedStream(seed ^ 0x706F6F6CUL));
        var labels = attempts.SelectMany(a => a.Candidates).GroupBy(c => c.Stage)
            .ToDictionary(g => g.Key, g => (g.Count(c => c.Right), g.Count()));
        log.WriteLine(new OnPolicyRound(round, p.Rounds, questions.Count, clock.Elapsed.TotalSeconds, labels,
            attempts.Count(a => a.AnswerRight) / (double)Math.Max(1, attempts.Count), pool));
        return pool;
    }

    /// <summary>A batch of one kind; a kind whose pool is empty this round takes fresh answers instead.</summary>
    public static IReadOnlyList<Sample> Batch(string kind, OnPolicyPool pool, ExampleStream answers, SeedStream rng, int size)
    {
        if (kind == "synthetic")
            return answers.Batch("judge", size);
        IReadOnlyList<Sample> from = kind switch
        {
            "mistake" => pool.Mistakes,
            "judge" => pool.Judges,
            // Image and text-only verdicts cannot share a batch: one or the other, as often as their sizes say.
            "verdict" => rng.NextInt(Math.Max(1, pool.ImageVerdicts.Count + pool.TextVerdicts.Count)) < pool.ImageVerdicts.Count
                ? pool.ImageVerdicts
                : pool.TextVerdicts,
            _ => [],
        };
        return from.Count == 0 ? answers.Batch("answer", size) : Enumerable.Range(0, size).Select(_ => from[rng.NextInt(from.Count)]).ToList();
    }
}
