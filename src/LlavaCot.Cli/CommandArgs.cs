namespace LlavaCot.Cli;

/// <summary>A wrong command line; reported with the usage text.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Positional arguments, <c>--name value</c> options and <c>--flag</c> switches of one command.</summary>
public sealed class CommandArgs
{
    private readonly Dictionary<string, string> _options;
    private readonly HashSet<string> _flags;

    public IReadOnlyList<string> Positional { get; }

    private CommandArgs(List<string> positional, Dictionary<string, string> options, HashSet<string> flags)
    {
        Positional = positional;
        _options = options;
        _flags = flags;
    }

    public static CommandArgs Parse(string[] args, IReadOnlyCollection<string> knownOptions, IReadOnlyCollection<string>? knownFlags = null)
    {
        var positional = new List<string>();
        var options = new Dictionary<string, string>();
        var flags = new HashSet<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                positional.Add(args[i]);
                continue;
            }
            var name = args[i][2..];
            if (knownFlags?.Contains(name) == true)
            {
                flags.Add(name);
                continue;
            }
            if (!knownOptions.Contains(name))
                throw new UsageException($"unknown option --{name}");
            if (i + 1 >= args.Length)
                throw new UsageException($"option --{name} needs a value");
            options[name] = args[++i];
        }
        return new CommandArgs(positional, options, flags);
    }

    public bool Flag(string name) => _flags.Contains(name);

    public string Required(int index, string what) =>
        index < Positional.Count ? Positional[index] : throw new UsageException($"missing {what}");

    /// <summary>The positional folder to write, as a full path: new or empty, never one that holds anything.</summary>
    public string NewFolder(int index, string what)
    {
        var dir = Path.GetFullPath(Required(index, what));
        return Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any()
            ? throw new UsageException($"{dir} is not empty; name a new or empty folder")
            : dir;
    }

    public string? Option(string name) => _options.GetValueOrDefault(name);

    /// <summary>--quantize as the server's Quantize setting reads it (none when absent).</summary>
    public Model.Layers.Quantization Quantization()
    {
        try
        {
            return Option("quantize") is { } value ? Runtime.RuntimeOptions.ParseQuantization(value) : Model.Layers.Quantization.None;
        }
        catch (ArgumentException ex)
        {
            throw new UsageException($"--{ex.Message}");
        }
    }

    /// <summary>The option as a whole number of at least <paramref name="min"/>, or null when it is not given.</summary>
    public int? Int(string name, int min) =>
        Option(name) is not { } v ? null
        : int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min ? n
        : throw new UsageException($"--{name} needs a whole number of at least {min}, got '{v}'");

    /// <summary>The option as a whole number of at least <paramref name="min"/>, or <paramref name="fallback"/>.</summary>
    public int Int(string name, int fallback, int min) => Int(name, min) ?? fallback;

    /// <summary>The option as a number of at least 0 (seconds, say), or <paramref name="fallback"/>.</summary>
    public double Seconds(string name, double fallback) =>
        Option(name) is not { } v ? fallback
        : double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var x) && x >= 0 && double.IsFinite(x) ? x
        : throw new UsageException($"--{name} needs a number of seconds of at least 0, got '{v}'");

    /// <summary>The option as a comma-separated list of distinct whole numbers in <paramref name="min"/>..<paramref name="max"/>.</summary>
    /// <param name="what">What each number is, for the message ("a beam size").</param>
    public IReadOnlyList<int> Ints(string name, string fallback, int min, int max, string what) =>
        (Option(name) ?? fallback).Split(',').Select(v =>
            int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                ? n
                : throw new UsageException($"--{name}: '{v}' is not {what} in {min}..{max}")).Distinct().ToList();
}
