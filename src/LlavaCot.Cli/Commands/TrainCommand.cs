using System.Globalization;
using LlavaCot.Training.Train;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot train --out DIR [--steps N] [--batch B] [--lr R] [--seed S] [--vocab V] [--checkpoint-every K] [--threads T]
/// [--mix a,c,r,j,p] [--perception W] [--log-every K] [--on-policy-rounds R] [--on-policy-steps S] [--on-policy-questions Q]
/// [--on-policy-workers W] [--on-policy-n N] [--on-policy-max-new-tokens T] [--on-policy-only] [architecture options]</c>:
/// trains the shapes demo model into a Hugging Face Mllama folder, then runs the on-policy phase (R rounds of Q searched
/// questions and S steps), resuming from its checkpoint when there is one. --on-policy-only runs the phase alone, on the
/// model the folder already holds.
/// On a terminal the bar leaves a loss line every K steps (default 50); in a log, progress lines come every 10 % or 30 s,
/// and every K steps only when --log-every is given.
/// </summary>
public static class TrainCommand
{
    public static readonly string[] Options =
    [
        "out", "steps", "on-policy-rounds", "on-policy-steps", "on-policy-questions", "on-policy-workers", "on-policy-n",
        "on-policy-max-new-tokens", "batch", "lr", "min-lr", "warmup", "seed", "vocab", "checkpoint-every", "threads", "log-every", "mix", "perception",
        "patch", "vision-hidden", "vision-layers", "vision-global-layers", "text-hidden", "text-layers", "cross-layers", "text-intermediate",
    ];

    public static readonly string[] Flags = ["on-policy-only"];

    public static int Run(CommandArgs args, TextWriter o)
    {
        var defaults = new TrainOptions { OutputDirectory = "" };
        var a = defaults.Architecture;
        var visionLayers = args.Int("vision-layers", a.VisionLayers, 1);
        var textLayers = args.Int("text-layers", a.TextLayers, 1);
        var textHidden = args.Int("text-hidden", a.TextHidden, 8);
        var architecture = a with
        {
            PatchSize = args.Int("patch", a.PatchSize, 1),
            VisionHidden = args.Int("vision-hidden", a.VisionHidden, 8),
            VisionLayers = visionLayers,
            VisionGlobalLayers = args.Int("vision-global-layers", a.VisionGlobalLayers, 1),
            // The projector reads the middle and the last local layer, besides the final output.
            VisionIntermediateLayers = [visionLayers / 2 - 1 < 0 ? 0 : visionLayers / 2 - 1, visionLayers - 1],
            TextHidden = textHidden,
            TextLayers = textLayers,
            CrossAttentionLayers = args.Option("cross-layers") is { } c
                ? c.Split(',').Select(v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < textLayers ? i
                    : throw new UsageException($"--cross-layers: '{v}' is not a text layer index below {textLayers}")).ToArray()
                : a.CrossAttentionLayers.Where(i => i < textLayers).ToArray(),
            TextIntermediate = args.Int("text-intermediate", 3 * textHidden, 8),
        };
        if (architecture.TileSize % architecture.PatchSize != 0)
            throw new UsageException($"--patch: {architecture.PatchSize} does not divide the {architecture.TileSize}-px tile");
        var mix = args.Option("mix") is { } m ? Mix(m) : defaults.Mix;
        var options = new TrainOptions
        {
            Architecture = architecture,
            Mix = mix,
            MinLearningRate = args.Option("min-lr") is { } minLr ? Double(minLr, "--min-lr") : defaults.MinLearningRate,
            WarmupSteps = args.Int("warmup", defaults.WarmupSteps, 1),
            OutputDirectory = args.Option("out") ?? throw new UsageException("--out DIR is required"),
            Steps = args.Int("steps", defaults.Steps, 1),
            BatchSize = args.Int("batch", defaults.BatchSize, 1),
            LearningRate = args.Option("lr") is { } lr ? Double(lr, "--lr") : defaults.LearningRate,
            Seed = (ulong)args.Int("seed", (int)defaults.Seed, 0),
            VocabularySize = args.Int("vocab", defaults.VocabularySize, 256),
            CheckpointEvery = args.Int("checkpoint-every", defaults.CheckpointEvery, 0),
            Threads = args.Int("threads", defaults.Threads, 1),
            PerceptionWeight = args.Option("perception") is { } pw ? Double(pw, "--perception", zero: true) : defaults.PerceptionWeight,
            OnPolicy = defaults.OnPolicy with
            {
                Rounds = args.Int("on-policy-rounds", defaults.OnPolicy.Rounds, 0),
                StepsPerRound = args.Int("on-policy-steps", defaults.OnPolicy.StepsPerRound, 1),
                Questions = args.Int("on-policy-questions", defaults.OnPolicy.Questions, 1),
                Workers = args.Int("on-policy-workers", defaults.OnPolicy.Workers, 1),
                N = args.Int("on-policy-n", defaults.OnPolicy.N, 2),
                MaxNewTokens = args.Int("on-policy-max-new-tokens", defaults.OnPolicy.MaxNewTokens, 1),
            },
        };
        var logEvery = args.Int("log-every", 1);
        var terminal = ProgressBar.IsTerminal(o);
        // A terminal keeps a loss line every 50 steps by default; a log has its own lines and adds these only when asked.
        var keepEvery = logEvery ?? (terminal ? 50 : (int?)null);
        if (args.Flag("on-policy-only") && !File.Exists(Path.Combine(options.OutputDirectory, "model.safetensors")))
            throw new UsageException($"--on-policy-only: {Path.GetFullPath(options.OutputDirectory)} holds no trained model (model.safetensors)");
        if (!OnPolicyPhase.Started(options) && !args.Flag("on-policy-only"))
        {
            using var trainer = Trainer.Create(options, o);
            o.WriteLine($"training {options.Steps} steps of {options.BatchSize} into {Path.GetFullPath(options.OutputDirectory)} (seed {options.Seed})");
            var progress = new ProgressBar(o, terminal, options.Steps, "steps") { Start = trainer.Step };
            trainer.Run(p => progress.Update(p.Step, Detail(p), keep: keepEvery is { } k && p.Step % k == 0));
        }
        var on = options.OnPolicy;
        if (on.Rounds > 0)
        {
            var total = on.Rounds * on.StepsPerRound;
            o.WriteLine($"on-policy phase: {on.Rounds} rounds of {on.Questions} questions searched at N={on.N}, then {on.StepsPerRound} steps each");
            var progress = new ProgressBar(o, terminal, total, "on-policy steps");
            ProgressBar? sampling = null;
            OnPolicyPhase.Run(options, o,
                p => progress.Update(p.Step, Detail(p), keep: keepEvery is { } k && p.Step % k == 0),
                (done, count) =>
                {
                    sampling ??= new ProgressBar(o, terminal, count, "questions") { Label = "sampling " };
                    sampling.Update(done);
                    if (done == count)
                        sampling = null;
                });
        }
        o.WriteLine($"saved {Path.GetFullPath(options.OutputDirectory)}");
        return 0;
    }

    private static string Detail(Training.Train.TrainProgress p) =>
        string.Create(CultureInfo.InvariantCulture, $"loss {p.Loss:F3}  {p.TokensPerSecond:F0} tok/s  {ProgressBar.Clock(p.Elapsed)} elapsed");

    /// <summary>"answers,captions,reasonings,judges,prechecks" shares, e.g. 0.55,0.24,0.15,0.04,0.02 (normalised).</summary>
    private static ExampleMix Mix(string value)
    {
        var parts = value.Split(',').Select(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 0 ? d
            : throw new UsageException($"--mix needs shares of 0 or more, got '{v}'")).ToArray();
        if (parts.Length != 5 || parts.Sum() <= 0)
            throw new UsageException($"--mix needs five shares (answers,captions,reasonings,judges,prechecks), got '{value}'");
        var sum = parts.Sum();
        return new ExampleMix(parts[0] / sum, parts[1] / sum, parts[2] / sum, parts[3] / sum, parts[4] / sum);
    }

    private static double Double(string v, string name, bool zero = false) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && (d > 0 || zero && d == 0)
            ? d
            : throw new UsageException($"{name} needs a {(zero ? "non-negative" : "positive")} number, got '{v}'");
}
