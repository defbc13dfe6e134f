using System.Globalization;
using LlavaCot.Training.Train;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot train --out DIR [--steps N] [--batch B] [--lr R] [--seed S] [--vocab V] [--checkpoint-every K] [--threads T]</c>:
/// trains the shapes demo model into a Hugging Face Mllama folder, resuming from its checkpoint when there is one.
/// </summary>
public static class TrainCommand
{
    public static readonly string[] Options = ["out", "steps", "batch", "lr", "seed", "vocab", "checkpoint-every", "threads", "log-every"];

    public static int Run(CommandArgs args, TextWriter o)
    {
        var defaults = new TrainOptions { OutputDirectory = "" };
        var options = new TrainOptions
        {
            OutputDirectory = args.Option("out") ?? throw new UsageException("--out DIR is required"),
            Steps = Int(args, "steps", defaults.Steps, 1),
            BatchSize = Int(args, "batch", defaults.BatchSize, 1),
            LearningRate = args.Option("lr") is { } lr ? Double(lr, "--lr") : defaults.LearningRate,
            Seed = (ulong)Int(args, "seed", (int)defaults.Seed, 0),
            VocabularySize = Int(args, "vocab", defaults.VocabularySize, 256),
            CheckpointEvery = Int(args, "checkpoint-every", defaults.CheckpointEvery, 0),
            Threads = Int(args, "threads", defaults.Threads, 1),
        };
        var logEvery = Int(args, "log-every", 50, 1);
        using var trainer = Trainer.Create(options, o);
        o.WriteLine($"training {options.Steps} steps of {options.BatchSize} into {Path.GetFullPath(options.OutputDirectory)} (seed {options.Seed})");
        trainer.Run(p =>
        {
            var bar = new string('#', (int)(20.0 * p.Step / p.Steps)).PadRight(20, '.');
            var line = string.Create(CultureInfo.InvariantCulture,
                $"[{bar}] {p.Step}/{p.Steps}  loss {p.Loss:F3}  {p.TokensPerSecond:F0} tok/s  {p.Elapsed:hh\\:mm\\:ss} elapsed  ETA {p.Remaining:hh\\:mm\\:ss}");
            o.Write(p.Step % logEvery == 0 || p.Step == p.Steps ? $"\r{line}\n" : $"\r{line}");
            o.Flush();
        });
        o.WriteLine($"saved {Path.GetFullPath(options.OutputDirectory)}");
        return 0;
    }

    private static int Int(CommandArgs args, string name, int fallback, int min)
    {
        if (args.Option(name) is not { } v)
            return fallback;
        return int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min
            ? n
            : throw new UsageException($"--{name} needs a whole number of at least {min}, got '{v}'");
    }

    private static double Double(string v, string name) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0
            ? d
            : throw new UsageException($"{name} needs a positive number, got '{v}'");
}
