using System.Globalization;
using LlavaCot.Training.Shapes;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot data shapes --out DIR --count N --seed S</c>: writes the synthetic shapes task (PNG images and a JSONL
/// of questions, answers and tagged reference responses), the same files for the same seed.
/// </summary>
public static class DataCommand
{
    public static readonly string[] Options = ["out", "count", "seed"];

    public static int Run(CommandArgs args, TextWriter o)
    {
        var kind = args.Required(0, "the dataset kind (shapes)");
        if (kind != "shapes")
            throw new UsageException($"unknown dataset kind '{kind}' (known: shapes)");
        var dir = args.Option("out") ?? throw new UsageException("--out DIR is required");
        var count = Number(args, "count", 1000);
        var seed = args.Option("seed") is { } s
            ? ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : throw new UsageException($"--seed needs a whole number, got '{s}'")
            : 1UL;
        if (count < 1)
            throw new UsageException($"--count must be at least 1, got {count}");
        var path = ShapeDataset.Write(dir, count, seed);
        o.WriteLine($"wrote {count} questions to {Path.GetFullPath(path)} (seed {seed})");
        return 0;
    }

    private static int Number(CommandArgs args, string name, int fallback) =>
        args.Option(name) is not { } v ? fallback
        : int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n
        : throw new UsageException($"--{name} needs a whole number, got '{v}'");
}
