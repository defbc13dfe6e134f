using LlavaCot.Tests;

namespace LlavaCot.Server.Tests;

/// <summary>
/// The rules that decide whether a test needing something from outside the repository runs, skips or fails, and
/// where fixtures are found: driven by the environment and PATH given to them, not by this machine's.
/// </summary>
public sealed class RequirementTests : IDisposable
{
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    private static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    private static readonly ExternalTool Tool = ExternalTool.Nginx with { AlsoIn = [] };

    private string Folder(string name) => Directory.CreateDirectory(_temp.File(name)).FullName;

    [Fact]
    public void A_tool_on_PATH_is_found_and_the_test_runs()
    {
        var bin = Folder("bin");
        File.WriteAllText(Path.Combine(bin, "nginx"), "");

        Assert.Equal(Path.Combine(bin, "nginx"), Tool.Require(Env(("PATH", $"{Folder("empty")}:{bin}"))));
    }

    [Fact]
    public void A_missing_tool_skips_the_test_saying_what_is_missing_and_how_to_get_it()
    {
        var skip = Assert.Throws<SkipException>(() => Tool.Require(Env(("PATH", Folder("empty")))));

        Assert.Contains("nginx not found on PATH", skip.Message);
        Assert.Contains("apt-get install nginx", skip.Message);
    }

    [Theory]
    [InlineData("CI", "true")]
    [InlineData("CI", "TRUE")]
    [InlineData("LLAVACOT_REQUIRE_ALL", "1")]
    public void Under_CI_or_when_everything_is_required_a_missing_tool_fails_the_test(string name, string value)
    {
        var failure = Assert.Throws<RequirementMissingException>(() => Tool.Require(Env(("PATH", Folder("empty")), (name, value))));

        Assert.Contains("apt-get install nginx", failure.Message);
        Assert.Contains("required here", failure.Message);
    }

    [Theory]
    [InlineData("CI", "false")]
    [InlineData("LLAVACOT_REQUIRE_ALL", "0")]
    public void A_switch_set_to_off_still_skips(string name, string value) =>
        Assert.IsType<SkipException>(Requirement.Missing("x", Env((name, value))));

    /// <summary>A checkout at <c>root/repo</c> with a vendored folder <c>v</c>; <c>root/shared</c> is made by the test when it wants one.</summary>
    private string Checkout()
    {
        var repo = Folder("root/repo");
        Directory.CreateDirectory(Path.Combine(repo, "tests", "fixtures", "v"));
        return repo;
    }

    [Fact]
    public void Fixtures_come_from_LLAVACOT_SHARED_first_then_the_shared_folder_beside_the_checkout_then_the_vendored_copies()
    {
        var repo = Checkout();
        var vendored = Path.Combine(repo, "tests", "fixtures");

        var alone = FixtureRoot.Resolve(Env(), repo);
        Assert.Equal((null, "vendored"), (alone.Chosen, alone.Source));
        Assert.Equal(Path.Combine(vendored, "v"), alone.Folder("v"));
        Assert.Null(alone.Folder("s"));

        var beside = Directory.CreateDirectory(Path.Combine(_temp.Path, "root", "shared", "fixtures", "s")).Parent!.FullName;
        var withShared = FixtureRoot.Resolve(Env(), repo);
        Assert.Equal((beside, "../shared"), (withShared.Chosen, withShared.Source));
        Assert.Equal(Path.Combine(beside, "s"), withShared.Folder("s"));
        Assert.Equal(Path.Combine(vendored, "v"), withShared.Folder("v"));

        var elsewhere = Folder("elsewhere");
        Directory.CreateDirectory(Path.Combine(elsewhere, "fixtures", "v"));
        var fromEnv = FixtureRoot.Resolve(Env(("LLAVACOT_SHARED", elsewhere)), repo);
        Assert.Equal((Path.Combine(elsewhere, "fixtures"), "LLAVACOT_SHARED"), (fromEnv.Chosen, fromEnv.Source));
        Assert.Equal(Path.Combine(elsewhere, "fixtures", "v"), fromEnv.Folder("v"));
        Assert.Null(fromEnv.Folder("s"));
    }

    [Fact]
    public void An_LLAVACOT_SHARED_without_fixtures_is_an_error_not_a_silent_fallback()
    {
        var repo = Checkout();
        var error = Assert.Throws<InvalidOperationException>(() => FixtureRoot.Resolve(Env(("LLAVACOT_SHARED", Folder("nothing-here"))), repo));
        Assert.Contains("LLAVACOT_SHARED", error.Message);
    }

    /// <summary>The vendored copies are the shared fixtures, byte for byte (the READMEs are our own), where both have a folder.</summary>
    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void The_vendored_fixtures_are_the_shared_ones_byte_for_byte()
    {
        var vendored = Fixtures.Location.Vendored;
        var shared = Fixtures.Location.Chosen;
        var files = Directory.GetFiles(vendored, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(vendored, f))
            .Where(f => Path.GetFileName(f) != "README.md" && shared is not null && Directory.Exists(Path.Combine(shared, f.Split('/')[0])))
            .ToList();
        if (shared is null || files.Count == 0)
            throw Requirement.Missing("no shared fixtures to compare the vendored copies with: put them at ../shared beside the checkout, " +
                                      "or set LLAVACOT_SHARED");
        foreach (var file in files)
            Assert.True(File.ReadAllBytes(Path.Combine(shared, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(Fixtures.Location.Vendored, file))),
                $"{file} differs from {Path.Combine(shared, file)}");
    }

    [Fact]
    public void The_category_report_counts_runs_and_skips_and_gives_each_reason_once()
    {
        var tally = new CategoryTally();
        tally.Ran(null);
        tally.Ran(Category.Nginx);
        tally.Skipped(Category.Browser, "chromium not found");
        tally.Skipped(Category.Browser, "chromium not found");
        tally.Ran(Category.Browser);

        Assert.Equal(
            ["Browser: 1 ran, 2 skipped", "  skipped because chromium not found", "Nginx: 1 ran, 0 skipped", "uncategorised: 1 ran, 0 skipped"],
            tally.Lines());
    }
}
