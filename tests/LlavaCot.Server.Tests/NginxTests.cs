using System.Net;
using System.Text.Json.Nodes;
using LlavaCot.Tests;

namespace LlavaCot.Server.Tests;

/// <summary>
/// docker/nginx/llavacot.conf, the compose file's load balancer, run by Debian's nginx (.ci/run installs it) in front
/// of two real servers on loopback ports. The config is used as written; only the upstream's service name and the
/// listen address are mapped to loopback, and it is wrapped in a main config with its files in a temp folder.
/// </summary>
public sealed class NginxTests : IAsyncLifetime
{
    private readonly TempDir _temp = new();
    private readonly ServerUnderTest _a = new(), _b = new();
    private Processes.Running? _nginx;
    private HttpClient _client = null!;

    private static string Nginx() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin")
            .Select(dir => Path.Combine(dir, "nginx")).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("nginx is needed for the load balancer tests: apt-get install nginx (.ci/run does)");

    /// <summary>The compose config with the service name mapped to the given replicas and the listen port to <paramref name="port"/>.</summary>
    private string Config(int port, params Uri[] replicas)
    {
        var site = File.ReadAllText(Path.Combine(Processes.RepositoryRoot, "docker", "nginx", "llavacot.conf"));
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

    public async Task InitializeAsync()
    {
        await _a.InitializeAsync();
        await _b.InitializeAsync();
        var port = Processes.FreePort();
        var config = Config(port, _a.BaseAddress, _b.BaseAddress);
        var (code, output) = await Processes.RunAsync(Nginx(), ["-t", "-e", "stderr", "-p", _temp.Path, "-c", config], TimeSpan.FromMinutes(1));
        Assert.True(code == 0, output);
        Assert.Contains("test is successful", output);
        _nginx = Processes.Start(Nginx(), ["-e", "stderr", "-p", _temp.Path, "-c", config, "-g", "daemon off;"]);
        _client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromMinutes(3) };
        for (var i = 0; i < 300 && !await Answers(); i++)
            await Task.Delay(100);
    }

    private async Task<bool> Answers()
    {
        try
        {
            using var r = await _client.GetAsync("health/live");
            return r.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        _nginx?.Dispose();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        _temp.Dispose();
    }

    private static int Searches(ServerUnderTest server) => server.Log.Lines.Count(l => l.Contains("POST /v1/reason 200"));

    [Fact]
    public async Task A_stage_streams_through_nginx_before_the_search_goes_on_requests_spread_and_a_dead_replica_is_skipped()
    {
        // 1. The first stage's events arrive through nginx while the search is held before its second stage.
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

        // 2. Requests spread over both replicas.
        for (var i = 0; i < 6; i++)
        {
            using var r = await _client.PostAsync("v1/reason", ServerUnderTest.Form(ServerUnderTest.Image(), $"Question {i}", ("max_new_tokens", "3")));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        Assert.True(Searches(_a) >= 1 && Searches(_b) >= 1, $"a answered {Searches(_a)}, b answered {Searches(_b)}");

        // 3. A replica that dies is skipped: every new request is still answered.
        await _b.DisposeAsync();
        var before = Searches(_a);
        for (var i = 0; i < 4; i++)
        {
            using var r = await _client.PostAsync("v1/reason", ServerUnderTest.Form(ServerUnderTest.Image(), $"After {i}", ("max_new_tokens", "3")));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        Assert.Equal(before + 4, Searches(_a));
    }
}
