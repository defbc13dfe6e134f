using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;
using LlavaCot.Server.Api;
using SkiaSharp;

namespace LlavaCot.Server.Tests;

public class ReasonTests(ServerUnderTest server) : IClassFixture<ServerUnderTest>
{
    private static readonly string[] Order = ["accepted", "stage_started", "token", "candidate_done", "judge", "stage_winner", "final"];

    [Fact]
    public async Task Events_stream_incrementally_and_in_order_ending_with_final()
    {
        var held = server.Gate.Hold();
        try
        {
            using var response = await server.Client.SendAsync(
                ServerUnderTest.EventStream(ServerUnderTest.Form(ServerUnderTest.Image(), "What is this?", ("beam_size", "2"), ("max_new_tokens", "10"), ("seed", "4"))),
                HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
            // Proxies (nginx) pass the stream on event by event.
            Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());
            var requestId = response.Headers.GetValues("X-Request-Id").Single();
            using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
            var accepted = await reader.NextAsync();
            var started = await reader.NextAsync();
            Assert.Equal("accepted", accepted!.Event);
            Assert.Equal("stage_started", started!.Event);
            // The client holds stage_started while the model is still held at the gate: nothing was buffered.
            await held.WaitAsync(TimeSpan.FromMinutes(3));
            Assert.Equal(1, server.Admission.Running);
            server.Gate.Release();

            var frames = new List<SseFrame> { accepted, started };
            frames.AddRange(await reader.RestAsync());
            Assert.Equal("final", frames[^1].Event);
            Assert.Equal(Enumerable.Range(0, frames.Count).Select(i => i.ToString()), frames.Select(f => f.Id));
            Assert.DoesNotContain(frames, f => f.Event == "token");
            foreach (var f in frames)
            {
                var data = JsonNode.Parse(f.Data)!.AsObject();
                Assert.Equal(requestId, (string?)data["request_id"]);
                Assert.Equal(f.Event, (string?)data["kind"]);
                Assert.Contains(f.Event, Order);
            }
            Assert.Equal(4, frames.Count(f => f.Event == "stage_started"));
            Assert.Equal(4, frames.Count(f => f.Event == "stage_winner"));
            // Within a stage: started, its candidates, its comparisons, its winner.
            var stages = frames.Where(f => f.Event is not ("accepted" or "final")).Select(f => (f.Event, Index: (int)JsonNode.Parse(f.Data)!["index"]!)).ToList();
            Assert.Equal(stages.OrderBy(s => s.Index).ThenBy(s => Array.IndexOf(Order, s.Event)), stages);
        }
        finally
        {
            server.Gate.Release();
        }
    }

    [Fact]
    public async Task The_final_json_equals_the_engines_result_for_the_same_seed()
    {
        var image = ServerUnderTest.Image();
        using var response = await server.Client.PostAsJsonAsync("v1/reason", new
        {
            image = "data:image/png;base64," + Convert.ToBase64String(image),
            question = "What is this?",
            beam_size = 3,
            max_new_tokens = 12,
            seed = 77,
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await ServerUnderTest.Json(response);
        Assert.Equal(response.Headers.GetValues("X-Request-Id").Single(), (string?)body["request_id"]);
        Assert.Equal("mllama-tiny", (string?)body["model"]);
        Assert.Equal(77UL, (ulong)body["seed"]!);

        var request = new ReasonRequest("direct", image, "What is this?", new ReasonOptions { BeamSize = 3, MaxNewTokens = 12, Seed = 77 });
        ReasonResult? engine = null;
        await foreach (var e in server.Model.Reasoner.ReasonAsync(request, default))
            engine = (e as FinalAnswer)?.Result ?? engine;
        var expected = JsonSerializer.SerializeToNode(engine, ApiJson.Options)!;
        // The work differs: the image's features were cached by the request before, so this run skipped the vision tower.
        Assert.Equal((0, 1), ((int)expected["cost"]!["vision_passes"]!, (int)expected["cost"]!["image_cache_hits"]!));
        Assert.Equal(WithoutWork(expected).ToJsonString(), WithoutWork(body["result"]!).ToJsonString());
        Assert.Equal(4, body["result"]!["stages"]!.AsArray().Count);
        Assert.Equal(12, body["result"]!["stages"]![0]!["candidates"]!.AsArray().Count * 4);

        // The same request as a multipart form, streamed: its final event carries the same result.
        using var streamed = await server.Client.SendAsync(ServerUnderTest.EventStream(ServerUnderTest.Form(image, "What is this?",
            ("beam_size", "3"), ("max_new_tokens", "12"), ("seed", "77"))), HttpCompletionOption.ResponseHeadersRead);
        using var reader = new SseReader(await streamed.Content.ReadAsStreamAsync());
        var final = (await reader.RestAsync()).Single(f => f.Event == "final");
        Assert.Equal(WithoutTimings(expected).ToJsonString(), WithoutTimings(JsonNode.Parse(final.Data)!["result"]!).ToJsonString());
    }

    [Fact]
    public async Task Token_events_come_only_when_asked_and_add_up_to_each_candidate()
    {
        using var response = await server.Client.SendAsync(ServerUnderTest.EventStream(ServerUnderTest.Form(ServerUnderTest.Image(), "Describe",
            ("beam_size", "2"), ("max_new_tokens", "9"), ("seed", "3"), ("include_tokens", "true"), ("mode", "best_of_n"))));
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        var frames = (await reader.RestAsync()).Select(f => (f.Event, Data: JsonNode.Parse(f.Data)!)).ToList();
        Assert.Equal("best_of_n", (string?)frames[0].Data["mode"]);
        var tokens = frames.Where(f => f.Event == "token").ToList();
        Assert.NotEmpty(tokens);
        foreach (var done in frames.Where(f => f.Event == "candidate_done"))
        {
            var candidate = (int)done.Data["candidate"]!;
            var text = string.Concat(tokens.Where(t => (int)t.Data["candidate"]! == candidate).Select(t => (string?)t.Data["text"]));
            Assert.Equal((string?)done.Data["text"], text);
        }
    }

    [Fact]
    public async Task Forced_tagged_stages_run_the_real_judge_and_the_json_answer_holds_verdicts_and_conclusion()
    {
        server.Gate.ForceTagsWith = server.Model.Host.Generator.Inputs.Tokenizer;
        try
        {
            using var response = await server.Client.PostAsJsonAsync("v1/reason", new
            {
                image = Convert.ToBase64String(ServerUnderTest.Image()),
                question = "How many?",
                beam_size = 2,
                max_new_tokens = 6,
                seed = 11,
            });
            var result = (await ServerUnderTest.Json(response))["result"]!;
            Assert.StartsWith("<SUMMARY> candidate", (string?)result["text"]);
            Assert.StartsWith("candidate", (string?)result["conclusion"]);
            Assert.True((int)result["judge_calls"]! >= 4);
            Assert.All(result["stages"]!.AsArray(), s => Assert.Equal("judge", (string?)s!["verdicts"]![0]!["decision"]));
            var metrics = await server.Client.GetStringAsync("metrics");
            Assert.Matches(@"llavacot_judge_duration_seconds_count [1-9]", metrics);
            Assert.Matches(@"llavacot_tokens_generated_total\{kind=""judge""\} [1-9]", metrics);
            foreach (var phase in new[] { "vision", "prefill", "decode", "sample" })
                Assert.Matches($@"llavacot_model_seconds_total\{{phase=""{phase}""\}} (0\.0*[1-9]|[1-9])", metrics);
            Assert.Contains("llavacot_stage_duration_seconds_bucket{stage=\"reasoning\",le=\"+Inf\"}", metrics);
            // The scheduler's steps: vision layers and prefill chunks ran as slices, searches decoded with gaps between steps.
            Assert.Matches(@"llavacot_scheduler_steps_total [1-9]", metrics);
            foreach (var lane in new[] { "vision", "prompt" })
                Assert.Matches($@"llavacot_scheduler_slice_seconds_count\{{lane=""{lane}""\}} [1-9]", metrics);
            Assert.Matches(@"llavacot_scheduler_decode_gap_seconds_count [1-9]", metrics);
            Assert.Matches(@"llavacot_scheduler_queue_wait_seconds_count [1-9]", metrics);
            Assert.Matches(@"llavacot_scheduler_step_budget_use_ratio_count [1-9]", metrics);
            Assert.Contains($"llavacot_scheduler_prefill_chunk_tokens {LlavaCot.Runtime.RuntimeOptions.DefaultPrefillChunkTokens}\n", metrics);
        }
        finally
        {
            server.Gate.ForceTagsWith = null;
        }
    }

    /// <summary>HF cannot process a 1×4000 strip (its thin side resizes to 0 pixels); the server answers it.</summary>
    [Fact]
    public async Task A_one_pixel_wide_strip_is_answered()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(1, 4000, SKColorType.Rgba8888, SKAlphaType.Opaque));
        bitmap.Erase(new SKColor(40, 160, 90));
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);

        using var response = await server.Client.PostAsync("v1/reason",
            ServerUnderTest.Form(png.ToArray(), "What is this?", ("max_new_tokens", "4"), ("beam_size", "1")));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        Assert.NotNull(JsonNode.Parse(text)!["result"]!["conclusion"]);
    }

    private static JsonNode WithoutWork(JsonNode node)
    {
        var copy = WithoutTimings(node);
        copy.AsObject().Remove("cost");
        return copy;
    }

    private static JsonNode WithoutTimings(JsonNode node)
    {
        var copy = node.DeepClone();
        void Strip(JsonNode? n)
        {
            if (n is JsonObject o)
            {
                o.Remove("elapsed_seconds");
                foreach (var (_, v) in o)
                    Strip(v);
            }
            else if (n is JsonArray a)
            {
                foreach (var v in a)
                    Strip(v);
            }
        }
        Strip(copy);
        return copy;
    }
}
