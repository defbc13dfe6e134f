using LlavaCot.Cli;

namespace LlavaCot.Cli.Bench;

/// <summary>Where benchmarks find the shared fixtures (beside the checkout) when no folder is given.</summary>
public static class BenchPaths
{
    public static string SharedFixture(string name)
    {
        var relative = Path.Combine("..", "shared", "fixtures", name);
        if (Directory.Exists(relative))
            return relative;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "LlavaCot.sln")) && Directory.Exists(Path.Combine(d.FullName, relative)))
                return Path.Combine(d.FullName, relative);
        }
        throw new UsageException($"no folder given and {relative} not found from the repository root");
    }

    public static string? OptionalSharedFixture(string name)
    {
        try
        {
            return SharedFixture(name);
        }
        catch (UsageException)
        {
            return null;
        }
    }
}
