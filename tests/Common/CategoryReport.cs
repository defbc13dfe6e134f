using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace LlavaCot.Tests;

/// <summary>
/// xunit's framework with one addition: when a test assembly finishes, it reports how many tests ran and how many
/// were skipped in each <see cref="Category"/>, with the skip reasons. The report is a diagnostic message, which the
/// VSTest adapter prints (as a warning, so at <c>dotnet test</c>'s default verbosity) when xunit.runner.json enables
/// them. Named by an assembly attribute that tests/Directory.Build.props adds to every test project.
/// </summary>
public sealed class CategoryReportFramework(IMessageSink diagnosticMessageSink) : XunitTestFramework(diagnosticMessageSink)
{
    protected override ITestFrameworkExecutor CreateExecutor(AssemblyName assemblyName) =>
        new Executor(assemblyName, SourceInformationProvider, DiagnosticMessageSink);

    private sealed class Executor(AssemblyName name, ISourceInformationProvider source, IMessageSink diagnostics)
        : XunitTestFrameworkExecutor(name, source, diagnostics)
    {
        protected override async void RunTestCases(IEnumerable<IXunitTestCase> testCases, IMessageSink executionMessageSink,
            ITestFrameworkExecutionOptions executionOptions)
        {
            var counter = new CategoryCounter(executionMessageSink, DiagnosticMessageSink);
            using var runner = new XunitTestAssemblyRunner(TestAssembly, testCases, DiagnosticMessageSink, counter, executionOptions);
            await runner.RunAsync();
        }
    }
}

/// <summary>Passes every execution message on, counting results per category; reports just before the assembly's end.</summary>
public sealed class CategoryCounter(IMessageSink next, IMessageSink diagnostics) : LongLivedMarshalByRefObject, IMessageSink
{
    private readonly CategoryTally _tally = new();

    public bool OnMessage(IMessageSinkMessage message)
    {
        switch (message)
        {
            case ITestSkipped skipped:
                _tally.Skipped(CategoryOf(skipped.TestCase), skipped.Reason);
                break;
            case ITestPassed or ITestFailed:
                _tally.Ran(CategoryOf(((ITestResultMessage)message).TestCase));
                break;
            case ITestAssemblyFinished:
                foreach (var line in _tally.Lines())
                    diagnostics.OnMessage(new DiagnosticMessage(line));
                break;
        }
        return next.OnMessage(message);
    }

    private static string? CategoryOf(ITestCase testCase) =>
        testCase.Traits.TryGetValue(Category.Name, out var values) && values.Count > 0 ? values[0] : null;
}

/// <summary>Counts of tests run and skipped per category, and the report lines they make.</summary>
public sealed class CategoryTally
{
    private readonly SortedDictionary<string, (int Ran, int Skipped, SortedSet<string> Reasons)> _counts = new(StringComparer.Ordinal);

    private const string Uncategorised = "other";

    public void Ran(string? category) => Add(category, ran: 1, skipped: 0, reason: null);

    public void Skipped(string? category, string reason) => Add(category, ran: 0, skipped: 1, reason);

    private void Add(string? category, int ran, int skipped, string? reason)
    {
        lock (_counts)
        {
            var key = category ?? Uncategorised;
            var (r, s, reasons) = _counts.TryGetValue(key, out var c) ? c : (0, 0, new SortedSet<string>(StringComparer.Ordinal));
            if (reason is not null)
                reasons.Add(reason);
            _counts[key] = (r + ran, s + skipped, reasons);
        }
    }

    /// <summary>One line per category ("Nginx: 0 ran, 2 skipped"), each skip reason under it; categorised ones first.</summary>
    public IReadOnlyList<string> Lines()
    {
        lock (_counts)
        {
            var lines = new List<string>();
            foreach (var (name, (ran, skipped, reasons)) in _counts.OrderBy(c => c.Key == Uncategorised))
            {
                lines.Add($"{(name == Uncategorised ? "uncategorised" : name)}: {ran} ran, {skipped} skipped");
                lines.AddRange(reasons.Select(r => $"  skipped because {r}"));
            }
            return lines;
        }
    }
}
