namespace LlavaCot.Tests;

/// <summary>
/// Paths into the golden fixtures: <c>$LLAVACOT_SHARED/fixtures</c> if that variable is set, else
/// <c>../shared/fixtures</c> beside the checkout if present, else the copies vendored in <c>tests/fixtures</c>.
/// A folder the chosen place lacks comes from the vendored copies; one that is nowhere is a <see cref="Requirement"/>
/// (a skip outside CI, a failure under it).
/// </summary>
public static class Fixtures
{
    public static string RepoRoot { get; } = FindRepoRoot();

    private static readonly Lazy<FixtureRoot> Root = new(() => FixtureRoot.Resolve(Environment.GetEnvironmentVariable, RepoRoot));

    /// <summary>The fixtures folder in use and why (for messages).</summary>
    public static FixtureRoot Location => Root.Value;

    /// <summary>
    /// A path inside a fixture folder, the first name of <paramref name="parts"/> (which may be a relative path such as
    /// "mllama-tiny/cases"); skips the test (or fails it under CI) when that folder is nowhere.
    /// </summary>
    public static string Path(params string[] parts)
    {
        var names = parts.SelectMany(p => p.Split('/')).ToArray();
        return System.IO.Path.Combine([Root.Value.Folder(names[0]) ?? throw Missing(names[0]), .. names[1..]]);
    }

    public static string MllamaTiny => Path("mllama-tiny");

    /// <summary>Whether fixture folder <paramref name="name"/> can be found (for test data built before a test runs).</summary>
    public static bool Has(string name) => Root.Value.Folder(name) is not null;

    private static Exception Missing(string name) => Requirement.Missing(Root.Value.Chosen is { } chosen
        ? $"fixture folder '{name}' is neither in {chosen} (from {Root.Value.Source}) nor vendored"
        : $"fixture folder '{name}' is not vendored and there are no shared fixtures: put them at ../shared beside the " +
          "checkout, or set LLAVACOT_SHARED to the folder holding fixtures/");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "LlavaCot.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"LlavaCot.sln not found above {AppContext.BaseDirectory}");
    }
}

/// <summary>Where fixture folders are looked up: the chosen fixtures folder, then the vendored copies.</summary>
/// <param name="Chosen">The shared fixtures folder in use, or null when only the vendored copies are.</param>
/// <param name="Source">Why it was chosen: "LLAVACOT_SHARED", "../shared" or "vendored".</param>
public sealed record FixtureRoot(string? Chosen, string Source, string Vendored)
{
    /// <summary>
    /// <c>LLAVACOT_SHARED</c> when set (a folder without fixtures/ is an error: the user asked for it), else
    /// <c>../shared</c> beside <paramref name="repoRoot"/> when it has fixtures/, else the vendored copies alone.
    /// </summary>
    public static FixtureRoot Resolve(Func<string, string?> env, string repoRoot)
    {
        var vendored = System.IO.Path.Combine(repoRoot, "tests", "fixtures");
        if (env("LLAVACOT_SHARED") is { Length: > 0 } fromEnv)
        {
            var fixtures = System.IO.Path.Combine(System.IO.Path.GetFullPath(fromEnv), "fixtures");
            return Directory.Exists(fixtures)
                ? new FixtureRoot(fixtures, "LLAVACOT_SHARED", vendored)
                : throw new InvalidOperationException($"LLAVACOT_SHARED is {fromEnv}, but {fixtures} does not exist");
        }
        var beside = System.IO.Path.GetFullPath(System.IO.Path.Combine(repoRoot, "..", "shared", "fixtures"));
        return Directory.Exists(beside) ? new FixtureRoot(beside, "../shared", vendored) : new FixtureRoot(null, "vendored", vendored);
    }

    /// <summary>The folder <paramref name="name"/> from the chosen place, else from the vendored copies, else null.</summary>
    public string? Folder(string name) =>
        new[] { Chosen, Vendored }.OfType<string>().Select(root => System.IO.Path.Combine(root, name)).FirstOrDefault(Directory.Exists);
}
