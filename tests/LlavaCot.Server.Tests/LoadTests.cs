using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace LlavaCot.Server.Tests;

/// <summary>Runs alone: it measures managed memory of the whole process.</summary>
[CollectionDefinition(nameof(Alone), DisableParallelization = true)]
public sealed class Alone;

[Collection(nameof(Alone))]
public class LoadTests(ServerUnderTest server) : IClassFixture<ServerUnderTest>
{
    private const int Clients = 32;
    private const int Admitted = 1 + 4; // max concurrency 1, queue 4

    private Task<HttpResponseMessage> Ask(int i) => server.Client.PostAsJsonAsync("v1/reason", new
    {
        image = Convert.ToBase64String(ServerUnderTest.Image()),
        question = $"Question {i}?",
        beam_size = 2,
        max_new_tokens = 8,
        seed = (ulong)i,
    });

    /// <summary>Completes once <paramref name="count"/> of the tasks have (counting completions, so none is missed).</summary>
    private static Task Answered(IEnumerable<Task> tasks, int count)
    {
        var done = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var task in tasks)
            task.ContinueWith(_ =>
            {
                if (Interlocked.Increment(ref done) == count)
                    all.TrySetResult();
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return all.Task;
    }

    [Fact]
    public async Task Thirty_two_clients_get_an_answer_or_a_429_and_memory_returns_to_its_baseline()
    {
        (await Ask(-1)).Dispose();
        await server.Settled();
        var tensors = await server.Model.Host.LiveTensorsWithoutCachesAsync();
        var managed = GC.GetTotalMemory(forceFullCollection: true);

        // The first admitted search waits at the gate, so the queue fills deterministically.
        var held = server.Gate.Hold();
        HttpResponseMessage[] responses;
        try
        {
            var calls = Enumerable.Range(0, Clients).Select(Ask).ToList();
            await held;
            // Every request not admitted is answered at once; the admitted ones wait behind the held search.
            await Answered(calls, Clients - Admitted);
            Assert.Equal(Admitted - 1, server.Admission.Waiting);
            server.Gate.Release();
            responses = await Task.WhenAll(calls);
        }
        finally
        {
            server.Gate.Release();
        }

        foreach (var r in responses)
        {
            Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"got {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
            var body = await ServerUnderTest.Json(r);
            if (r.StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal(4, body["result"]!["stages"]!.AsArray().Count);
                Assert.NotNull((string?)body["result"]!["conclusion"]);
            }
            else
            {
                Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
                Assert.True(r.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            }
            r.Dispose();
        }
        Assert.Equal(Admitted, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(Clients - Admitted, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));

        await server.Settled();
        Assert.Equal(tensors, await server.Model.Host.LiveTensorsWithoutCachesAsync());
        var growth = GC.GetTotalMemory(forceFullCollection: true) - managed;
        Assert.True(growth < 16L << 20, $"managed memory grew by {growth / 1024} KiB");

        var metrics = await server.Client.GetStringAsync("metrics");
        Assert.Contains($"llavacot_http_requests_total{{route=\"/v1/reason\",status=\"429\"}} {Clients - Admitted}", metrics);
        Assert.Contains("llavacot_queue_depth 0", metrics);
        Assert.DoesNotContain("status=\"5", metrics);
    }
    /// <summary>The image is decoded and checked before admission: a corrupt upload is answered at once, even with every slot and the queue taken.</summary>
    [Fact]
    public async Task A_corrupt_image_gets_its_422_while_the_queue_is_full()
    {
        var held = server.Gate.Hold();
        var calls = new List<Task<HttpResponseMessage>>();
        try
        {
            calls.AddRange(Enumerable.Range(0, Admitted).Select(Ask));
            await held;
            // One search running, the queue full: another image request would get a 429.
            while (server.Admission.Waiting < Admitted - 1)
                await Task.Delay(10);
            Assert.Equal(1, server.Admission.Running);

            var corrupt = ServerUnderTest.Image()[..40];
            using var response = await server.Client.PostAsync("v1/reason", ServerUnderTest.Form(corrupt, "What is this?"));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            Assert.Equal(Admitted - 1, server.Admission.Waiting);
        }
        finally
        {
            server.Gate.Release();
            foreach (var r in await Task.WhenAll(calls))
                r.Dispose();
        }
    }
}

[Collection(nameof(Alone))]
public class DisconnectTests(ServerUnderTest server) : IClassFixture<ServerUnderTest>
{
    [Fact]
    public async Task A_client_that_goes_away_stops_its_search_within_a_step_and_frees_its_memory()
    {
        (await server.Client.PostAsync("v1/reason", ServerUnderTest.Form(ServerUnderTest.Image(), "warm up", ("max_new_tokens", "3")))).Dispose();
        await server.Settled();
        var tensors = await server.Model.Host.LiveTensorsWithoutCachesAsync();
        var counters = server.Model.Host.Model.Counters;

        using var abort = new CancellationTokenSource();
        var response = await server.Client.SendAsync(ServerUnderTest.EventStream(ServerUnderTest.Form(ServerUnderTest.Image(), "Tell me everything",
            ("beam_size", "3"), ("max_new_tokens", "2000"), ("temperature", "1"))), HttpCompletionOption.ResponseHeadersRead, abort.Token);
        var reader = new SseReader(await response.Content.ReadAsStreamAsync(abort.Token));
        Assert.Equal("accepted", (await reader.NextAsync(abort.Token))?.Event);
        Assert.Equal("stage_started", (await reader.NextAsync(abort.Token))?.Event);

        // Freeze the model thread inside a decode step (token events are not streamed, so the server writes nothing
        // more), drop the connection, and let the model go once the search's token has fired.
        var (paused, cancelled) = server.Gate.PauseDeltas();
        await paused.WaitAsync(TimeSpan.FromMinutes(3));
        var stepsAtAbort = counters.DecodeSteps;
        abort.Cancel();
        reader.Dispose();
        response.Dispose();
        await cancelled.WaitAsync(TimeSpan.FromMinutes(3));
        server.Gate.Resume();
        await server.Settled();

        Assert.InRange(counters.DecodeSteps - stepsAtAbort, 0, 2);
        var stepsAfter = counters.DecodeSteps;
        Assert.Equal(tensors, await server.Model.Host.LiveTensorsWithoutCachesAsync());
        Assert.Equal(stepsAfter, counters.DecodeSteps);

        using var next = await server.Client.PostAsync("v1/reason", ServerUnderTest.Form(ServerUnderTest.Image(), "Next one", ("max_new_tokens", "4")));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.NotNull(JsonNode.Parse(await next.Content.ReadAsStringAsync())!["result"]);
        var metrics = await server.Client.GetStringAsync("metrics");
        Assert.Contains("llavacot_http_requests_total{route=\"/v1/reason\",status=\"499\"} 1", metrics);
        Assert.Contains("llavacot_searches_total{outcome=\"cancelled\"} 1", metrics);
        Assert.DoesNotContain("status=\"5", metrics);
    }
}
