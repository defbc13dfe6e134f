using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using LlavaCot.Tests;

namespace LlavaCot.Server.Tests;

/// <summary>
/// What the container does, checked without a container runtime: <c>docker/publish.sh</c> (the image's build stage)
/// gives an app that starts from a clean folder on the bundled model and answers.
/// </summary>
public class PublishTests
{
    [Fact]
    public async Task The_published_app_starts_from_a_clean_folder_and_answers_on_the_bundled_model()
    {
        using var temp = new TempDir();
        var app = temp.File("app");
        var (code, output) = await Processes.RunAsync("bash", [Path.Combine(Fixtures.RepoRoot, "docker", "publish.sh"), app], TimeSpan.FromMinutes(10));
        Assert.True(code == 0, output);
        Assert.Contains("is ready", output);

        var cwd = Directory.CreateDirectory(temp.File("elsewhere")).FullName;
        using var server = Processes.StartServer(Path.Combine(app, "LlavaCot.Server.dll"), ["--device", "cpu"], cwd);
        using var client = new HttpClient { BaseAddress = await Processes.WaitReadyAsync(server), Timeout = TimeSpan.FromMinutes(3) };

        var models = JsonNode.Parse(await client.GetStringAsync("v1/models"))!;
        Assert.Equal(Training.Train.DemoCard.Name, (string?)models["data"]![0]!["id"]);
        Assert.Contains("<title>", await client.GetStringAsync("/"));
        using var answer = await client.PostAsync("v1/reason", ServerUnderTest.Form(ServerUnderTest.Image(), "How many shapes are in the image?"));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var body = await ServerUnderTest.Json(answer);
        // The bundled model's default mode (llavacot.json) answers whole: one stage of whole answers, tagged.
        Assert.Equal(Training.Train.DemoCard.DefaultMode, (string?)body["result"]!["mode"]);
        Assert.Equal(["answer"], body["result"]!["stages"]!.AsArray().Select(st => (string?)st!["stage"]));
        Assert.StartsWith("<SUMMARY>", (string)body["result"]!["text"]!);
    }
}

/// <summary>Starting, waiting for and stopping the programs the shipping tests drive.</summary>
public static class Processes
{
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Starts a built server on a port the kernel picks when it binds: a free port chosen here could be taken by any
    /// other socket before the server binds it.
    /// </summary>
    public static Running StartServer(string dll, IEnumerable<string> args, string? workingDirectory = null) =>
        Start("dotnet", [dll, "--urls", "http://127.0.0.1:0", .. args], workingDirectory);

    /// <summary>Programs started and not yet stopped; killed when the test process exits, should a test fail to stop one.</summary>
    private static readonly HashSet<Running> Live = [];

    static Processes() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        lock (Live)
            DisposeAll([.. Live]);
    };

    /// <summary>A program running in the background with its output collected; disposing kills it (a second dispose does nothing).</summary>
    public sealed class Running(Process process) : IDisposable
    {
        private readonly System.Text.StringBuilder _output = new();
        private int _disposed;

        public Process Process { get; } = process;

        /// <summary>The process id, kept after disposal (when <see cref="Process"/> no longer has it).</summary>
        public int Id { get; private set; }

        /// <summary>Whether the program was started.</summary>
        public bool Ran => Id != 0;

        public string Output
        {
            get
            {
                lock (_output)
                    return _output.ToString();
            }
        }

        internal void Started() => Id = Process.Id;

        internal void Add(string? line)
        {
            if (line is null)
                return;
            lock (_output)
                _output.AppendLine(line);
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
                return;
            try
            {
                if (Ran && !Process.HasExited)
                {
                    Process.Kill(entireProcessTree: true);
                    Process.WaitForExit(30_000);
                }
            }
            finally
            {
                Process.Dispose();
                lock (Live)
                    Live.Remove(this);
            }
        }
    }

    public static Running Start(string file, IEnumerable<string> args, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        if (workingDirectory is not null)
            info.WorkingDirectory = workingDirectory;
        info.Environment["THP_MEM_ALLOC_ENABLE"] = "1";
        var process = new Process { StartInfo = info };
        var running = new Running(process);
        process.OutputDataReceived += (_, e) => running.Add(e.Data);
        process.ErrorDataReceived += (_, e) => running.Add(e.Data);
        if (!process.Start())
            throw new InvalidOperationException($"{file} did not start");
        running.Started();
        lock (Live)
            Live.Add(running);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return running;
    }

    /// <summary>Whether process <paramref name="id"/> still runs (a zombie, exited but not yet reaped, counts as gone).</summary>
    public static bool IsAlive(int id)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{id}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault() is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Disposes every item, each even if an earlier one threw; then throws what they threw.</summary>
    public static void DisposeAll(IEnumerable<IDisposable?> items)
    {
        var errors = new List<Exception>();
        foreach (var item in items)
        {
            try
            {
                item?.Dispose();
            }
            catch (Exception ex)
            {
                errors.Add(ex);
            }
        }
        if (errors.Count > 0)
            throw new AggregateException(errors);
    }

    /// <summary>Runs a program to its end (a hang past <paramref name="limit"/> is a failure, not a wait forever).</summary>
    public static async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args, TimeSpan limit)
    {
        using var running = Start(file, args);
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await running.Process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            return (-1, $"{file} ran past {limit}:\n{running.Output}");
        }
        running.Process.WaitForExit();
        return (running.Process.ExitCode, running.Output);
    }

    /// <summary>
    /// Waits for the address a server started by <see cref="StartServer"/> logs, then polls /health/ready there until
    /// the server says ready; returns the address. A server that exits first fails with its output.
    /// </summary>
    public static async Task<Uri> WaitReadyAsync(Running server)
    {
        using var client = new HttpClient();
        Uri? address = null;
        for (var i = 0; i < 1800; i++)
        {
            if (server.Process.HasExited)
                throw new InvalidOperationException($"the server exited with {server.Process.ExitCode}:\n{server.Output}");
            address ??= ListeningAddress(server.Output);
            if (address is not null)
            {
                try
                {
                    using var ready = await client.GetAsync(new Uri(address, "health/ready"));
                    if (ready.StatusCode == HttpStatusCode.OK)
                        return address;
                }
                catch (HttpRequestException)
                {
                    // Listening, not answering yet.
                }
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"the server was not ready after 3 minutes:\n{server.Output}");
    }

    /// <summary>The address from Kestrel's "Now listening on" log line, or null before it is written.</summary>
    private static Uri? ListeningAddress(string output) =>
        System.Text.RegularExpressions.Regex.Match(output, @"Now listening on: (http://[0-9.]+:[0-9]+)") is { Success: true } m
            ? new Uri(m.Groups[1].Value + "/")
            : null;
}
