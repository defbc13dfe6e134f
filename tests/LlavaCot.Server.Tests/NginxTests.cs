using System.Net;
using System.Text.Json.Nodes;
using LlavaCot.Tests;

namespace LlavaCot.Server.Tests;

/// <summary>
/// docker/nginx/llavacot.conf, the compose file's load balancer, run by Debian's nginx (.ci/run installs it) in front
/// of replicas on loopback ports. The config is used as written; only the upstream's service name and the listen
/// address are mapped to loopback, and it is wrapped in a main config with its files in a temp folder.
/// </summary>
public sealed class NginxFront : IDisposable
{
    private readonly TempDir _temp = new();
    private Processes.Running? _nginx;

    public HttpClient Client { get; private set; } = null!;

    /// <summary>
    /// Checks the config with <c>nginx -t</c>, starts <paramref name="nginx"/> in front of <paramref name="replicas"/>
    /// and waits until it answers; on any failure nothing it started stays running.
    /// </summary>
    public static async Task<NginxFront> StartAsync(string nginx, params Uri[] replicas)
    {
        var front = new NginxFront();
        try
        {
            // nginx cannot report a port the kernel picked, so a free port is chosen here; should another socket take
            // it before nginx binds, nginx exits and the start is tried again on a new port.
            for (var attempt = 1; ; attempt++)
            {
                var port = Processes.FreePort();
                var config = front.Config(port, replicas);
                var (code, output) = await Processes.RunAsync(nginx, ["-t", "-e", "stderr", "-p", front._temp.Path, "-c", config], TimeSpan.FromMinutes(1));
                Assert.True(code == 0, output);
                Assert.Contains("test is successful", output);
                front._nginx = Processes.Start(nginx, ["-e", "stderr", "-p", front._temp.Path, "-c", config, "-g", "daemon off;"]);
                front.Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromMinutes(3) };
                for (var i = 0; i < 300 && !front._nginx.Process.HasExited && !await front.Answers(); i++)
                    await Task.Delay(100);
                if (!front._nginx.Process.HasExited)
                    return front;
                var log = front._nginx.Output;
                front._nginx.Dispose();
                front.Client.Dispose();
                if (attempt == 3 || !log.Contains("Address already in use"))
                    throw new InvalidOperationException($"nginx exited:\n{log}");
            }
        }
        catch
        {
            front.Dispose();
            throw;
        }
    }

    /// <summary>The compose config with the service name mapped to the given replicas and the listen port to <paramref name="port"/>.</summary>
    private string Config(int port, Uri[] replicas)
    {
        var site = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "docker", "nginx", "llavacot.conf"));
        const string upstream = "server llavacot:8080 max_fails=1 fail_timeout=30s;";
        const string listen = "listen 8080;";
        Assert.Contains(upstream, site);
        Assert.Contains(listen, site);
        site = site.Replace(upstream, string.Join("\n    ", replicas.Select(r => $"server 127.0.0.1:{r.Port} max_fails=1 fail_timeout=30s;")))
            .Replace(listen, $"listen 127.0.0.1:{port};");
        var prefix = _temp.Path;
        File.WriteAllText(_temp.File("llavacot.conf"), site);
        foreach (var dir in new[] { "body", "proxy", "fastcgi", "uwsgi", "scgi", "logs" })
        {
            Directory.CreateDirectory(_temp.File(dir));
            // Workers may run as another user than the test (nginx drops root to nobody).
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(_temp.File(dir), (UnixFileMode)0b111_111_111);
        }
        var main = _temp.File("nginx.conf");
        File.WriteAllText(main, $$"""
            pid {{prefix}}/nginx.pid;
            error_log {{prefix}}/logs/error.log info;
            worker_processes 1;
            events { worker_connections 256; }
            http {
                access_log {{prefix}}/logs/access.log;
                client_body_temp_path {{prefix}}/body;
                proxy_temp_path {{prefix}}/proxy;
                fastcgi_temp_path {{prefix}}/fastcgi;
                uwsgi_temp_path {{prefix}}/uwsgi;
                scgi_temp_path {{prefix}}/scgi;
                include {{prefix}}/llavacot.conf;
            }
            """);
        return main;
    }

    private async Task<bool> Answers()
    {
        try
        {
            using var r = await Client.GetAsync("health/live");
            return r.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        Client?.Dispose();
        try
        {
            _nginx?.Dispose();
        }
        finally
        {
            _temp.Dispose();
        }
    }
}

/// <summary>
/// The compose config in front of two servers in the test process, where a <see cref="ModelGate"/> can hold a search:
/// a stage's events pass through nginx as they happen.
/// </summary>
[Trait(Category.Name, Category.Nginx)]
public sealed class NginxStreamingTests : IAsyncLifetime
{
    private readonly ServerUnderTest _a = new(), _b = new();
    private NginxFront? _nginx;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        var nginx = ExternalTool.Nginx.Require();
        await _a.InitializeAsync();
        await _b.InitializeAsync();
        _nginx = await NginxFront.StartAsync(nginx, _a.BaseAddress, _b.BaseAddress);
        _client = _nginx.Client;
    }

    public async Task DisposeAsync()
    {
        try
        {
            _nginx?.Dispose();
        }
        finally
        {
            await _a.DisposeAsync();
            await _b.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task A_stage_streams_through_nginx_before_the_search_goes_on()
    {
        // The first stage's events arrive through nginx while the search is held before its second stage.
        foreach (var s in new[] { _a, _b })
        {
            s.Gate.HoldFromSample = 1;
            _ = s.Gate.Hold();
        }
        try
        {
            using var response = await _client.SendAsync(ServerUnderTest.EventStream(ServerUnderTest.Form(ServerUnderTest.Image(), "What is this?",
                ("beam_size", "2"), ("max_new_tokens", "6"), ("seed", "3"))), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
            var seen = new List<string?>();
            while (await reader.NextAsync() is { } frame)
            {
                seen.Add(frame.Event);
                if (frame.Event == "stage_started" && (int)JsonNode.Parse(frame.Data)!["index"]! == 1)
                    break;
            }
            Assert.Equal(["accepted", "stage_started", "candidate_done", "candidate_done"], seen.Take(4));
            Assert.Contains("judge", seen);
            Assert.Contains("stage_winner", seen);
            foreach (var s in new[] { _a, _b })
                s.Gate.Release();
            var rest = await reader.RestAsync();
            Assert.Equal("final", rest[^1].Event);
        }
        finally
        {
            foreach (var s in new[] { _a, _b })
            {
                s.Gate.HoldFromSample = 0;
                s.Gate.Release();
            }
        }
    }
}

/// <summary>
/// Server processes (the built <c>LlavaCot.Server.dll</c> on the bundled model, as the compose file runs it) behind
/// the compose config's nginx. Whatever fails, in start-up or later, disposing stops every process it started.
/// </summary>
public sealed class ReplicaSet : IAsyncDisposable
{
    private readonly TempDir _temp = new();
    private readonly List<Processes.Running> _replicas = [];

    public IReadOnlyList<Processes.Running> Replicas => _replicas;

    public NginxFront? Front { get; private set; }

    /// <summary>
    /// Starts <paramref name="count"/> replicas, waits until they are ready, then starts <paramref name="nginx"/> in
    /// front; if any of it fails, stops what it started before the exception leaves.
    /// </summary>
    public async Task StartAsync(int count, string nginx)
    {
        try
        {
            for (var i = 0; i < count; i++)
                _replicas.Add(Processes.StartServer(Path.Combine(AppContext.BaseDirectory, "LlavaCot.Server.dll"),
                    ["--device", "cpu", "--LlavaCot:LogFormat=text"], _temp.Path));
            var addresses = new List<Uri>();
            foreach (var replica in _replicas)
                addresses.Add(await Processes.WaitReadyAsync(replica));
            Front = await NginxFront.StartAsync(nginx, [.. addresses]);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops nginx and every replica, each even if stopping another failed, then deletes the folder.</summary>
    public ValueTask DisposeAsync()
    {
        Processes.DisposeAll([Front, .. _replicas, _temp]);
        return ValueTask.CompletedTask;
    }
}

/// <summary>No process outlives a replica set whose start-up failed.</summary>
public sealed class ReplicaCleanupTests
{
    [Fact]
    public async Task A_replica_set_whose_nginx_cannot_start_stops_its_replicas()
    {
        using var temp = new TempDir();
        var nginx = temp.File("nginx");
        File.WriteAllText(nginx, "#!/bin/sh\necho 'nginx: [emerg] a stand-in that cannot start' >&2\nexit 1\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(nginx, (UnixFileMode)0b111_101_101);

        var set = new ReplicaSet();
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => set.StartAsync(2, nginx));

        Assert.Contains("cannot start", failure.Message);
        Assert.Equal(2, set.Replicas.Count);
        Assert.All(set.Replicas, r => Assert.True(r.Ran, "a replica never started, so the test proves nothing"));
        Assert.All(set.Replicas, r => Assert.False(Processes.IsAlive(r.Id), $"replica pid {r.Id} still runs"));
        Assert.Null(set.Front);
    }
}

/// <summary>
/// The compose config in front of two server processes (the built <c>LlavaCot.Server.dll</c> on the bundled model,
/// as the compose file runs it): requests spread over both, and once one is killed every new request is answered.
/// </summary>
[Trait(Category.Name, Category.Nginx)]
public sealed class NginxReplicaTests : IAsyncLifetime
{
    private readonly ReplicaSet _set = new();

    public async Task InitializeAsync()
    {
        // Checked before any replica starts: without nginx the test is skipped at no cost.
        var nginx = ExternalTool.Nginx.Require();
        await _set.StartAsync(2, nginx);
    }

    public async Task DisposeAsync() => await _set.DisposeAsync();

    /// <summary>Searches a replica answered, from its own request log.</summary>
    private int Searches(int replica) =>
        _set.Replicas[replica].Output.Split('\n').Count(l => l.Contains("POST /v1/reason 200 "));

    /// <summary>
    /// Waits (up to 10 s) until <paramref name="done"/> holds: a replica writes its request log line as the response
    /// completes, so the client can have its answer a moment before the line reaches the replica's output.
    /// </summary>
    private static async Task Settle(Func<bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!done() && DateTime.UtcNow < deadline)
            await Task.Delay(50);
    }

    private async Task Ask(string question)
    {
        using var r = await _set.Front!.Client.PostAsync("v1/reason", ServerUnderTest.Form(ServerUnderTest.Image(), question, ("max_new_tokens", "3")));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [SkippableFact]
    public async Task Requests_spread_over_both_replicas_and_a_killed_one_is_skipped()
    {
        for (var i = 0; i < 6; i++)
            await Ask($"Question {i}");
        await Settle(() => Searches(0) + Searches(1) == 6);
        Assert.True(Searches(0) >= 1 && Searches(1) >= 1, $"replica 0 answered {Searches(0)}, replica 1 answered {Searches(1)}");

        // SIGKILL, as a crashed container: no goodbye on its connections. nginx hands the request on and leaves it out.
        _set.Replicas[1].Process.Kill(entireProcessTree: true);
        await _set.Replicas[1].Process.WaitForExitAsync();
        var before = Searches(0);
        for (var i = 0; i < 4; i++)
            await Ask($"After {i}");
        await Settle(() => Searches(0) >= before + 4);
        Assert.Equal(before + 4, Searches(0));
    }
}
