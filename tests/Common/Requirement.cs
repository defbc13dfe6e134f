namespace LlavaCot.Tests;

/// <summary>The test categories that need something outside the repository (for traits and <c>--filter</c>).</summary>
public static class Category
{
    public const string Name = "Category";

    /// <summary>Needs Debian's chromium.</summary>
    public const string Browser = "Browser";

    /// <summary>Needs nginx.</summary>
    public const string Nginx = "Nginx";

    /// <summary>Needs a shared fixture folder that is not vendored (the Llama 3 tokenizer, the real-scale preprocessing set).</summary>
    public const string Fixtures = "Fixtures";
}

/// <summary>
/// What a test needs from outside the repository. Missing, it skips the test with the reason, except under CI
/// (<c>CI=true</c>) or with <c>LLAVACOT_REQUIRE_ALL=1</c>, where it fails it: there everything must run.
/// </summary>
public static class Requirement
{
    public static bool Required(Func<string, string?> env) => IsSet(env("CI")) || IsSet(env("LLAVACOT_REQUIRE_ALL"));

    /// <summary>The exception to throw for a missing requirement: a skip, or a failure where everything is required.</summary>
    public static Exception Missing(string reason, Func<string, string?>? env = null) =>
        Required(env ?? Environment.GetEnvironmentVariable)
            ? new RequirementMissingException($"{reason} (required here: CI or LLAVACOT_REQUIRE_ALL is set)")
            : new SkipException(reason);

    private static bool IsSet(string? value) => value is not null && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase));
}

/// <summary>A requirement missing where every test must run.</summary>
public sealed class RequirementMissingException(string message) : Exception(message);

/// <summary>A program a test runs, found on PATH (and in <see cref="AlsoIn"/>, for programs Debian puts outside a user's PATH).</summary>
public sealed record ExternalTool(string[] Names, string Install, string[] AlsoIn)
{
    public static readonly ExternalTool Chromium = new(["chromium", "chromium-browser"], "apt-get install chromium", []);

    public static readonly ExternalTool Nginx = new(["nginx"], "apt-get install nginx", ["/usr/sbin"]);

    public string? Find(Func<string, string?> env) =>
        (env("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(AlsoIn)
            .SelectMany(dir => Names.Select(name => System.IO.Path.Combine(dir, name)))
            .FirstOrDefault(File.Exists);

    /// <summary>The program's path; if it is not found, skips the test (fails it under CI) saying how to get it.</summary>
    public string Require(Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        return Find(env) ?? throw Requirement.Missing(
            $"{Names[0]} not found on PATH{(AlsoIn.Length > 0 ? " or in " + string.Join(", ", AlsoIn) : "")}: {Install} (.ci/run installs it)", env);
    }
}
