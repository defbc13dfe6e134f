namespace LlavaCot.Tests;

/// <summary>Paths into the shared fixtures folder, which sits beside the repository checkout (../shared).</summary>
public static class Fixtures
{
    private static readonly Lazy<string> SharedRoot = new(FindShared);

    public static string Shared => SharedRoot.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Shared, "fixtures", .. parts]);

    public static string MllamaTiny => Path("mllama-tiny");

    public static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "LlavaCot.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"LlavaCot.sln not found above {AppContext.BaseDirectory}");
    }

    private static string FindShared()
    {
        var fromEnv = Environment.GetEnvironmentVariable("LLAVACOT_SHARED");
        var shared = fromEnv ?? System.IO.Path.GetFullPath(System.IO.Path.Combine(RepoRoot, "..", "shared"));
        return Directory.Exists(System.IO.Path.Combine(shared, "fixtures"))
            ? shared
            : throw new InvalidOperationException($"shared fixtures not found at {shared} (set LLAVACOT_SHARED)");
    }
}
