using LlavaCot.Cli;

namespace LlavaCot.Cli.Bench;

/// <summary>
/// Where benchmarks find a fixture folder when no folder is given, as the tests do: <c>$LLAVACOT_SHARED/fixtures</c>,
/// else <c>../shared/fixtures</c> (from the working folder, then beside the checkout), else the copies vendored in
/// the repository's <c>tests/fixtures</c>.
/// </summary>
public static class BenchPaths
{
    public static string SharedFixture(string name) =>
        OptionalSharedFixture(name)
        ?? throw new UsageException($"no folder given and fixture folder '{name}' not found (looked in " +
                                    $"{string.Join(", ", Candidates(name, Environment.GetEnvironmentVariable, RepositoryRoot()))})");

    public static string? OptionalSharedFixture(string name) =>
        Candidates(name, Environment.GetEnvironmentVariable, RepositoryRoot()).FirstOrDefault(Directory.Exists);

    /// <summary>Where fixture folder <paramref name="name"/> is looked for, in order.</summary>
    internal static IEnumerable<string> Candidates(string name, Func<string, string?> env, string? repositoryRoot)
    {
        if (env("LLAVACOT_SHARED") is { Length: > 0 } shared)
            yield return Path.Combine(shared, "fixtures", name);
        yield return Path.Combine("..", "shared", "fixtures", name);
        if (repositoryRoot is not null)
        {
            yield return Path.Combine(repositoryRoot, "..", "shared", "fixtures", name);
            yield return Path.Combine(repositoryRoot, "tests", "fixtures", name);
        }
    }

    /// <summary>The checkout the CLI was built in (the folder above its binaries that holds LlavaCot.sln), if any.</summary>
    private static string? RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "LlavaCot.sln")))
                return d.FullName;
        }
        return null;
    }
}
