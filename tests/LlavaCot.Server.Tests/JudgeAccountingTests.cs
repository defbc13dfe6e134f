using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace LlavaCot.Server.Tests;

/// <summary>Its own server, so its metrics hold only this class's requests.</summary>
public sealed class AccountingServer : ServerUnderTest;

/// <summary>Every judge call made is counted (also a batched one whose reply was not needed) and timed per comparison.</summary>
public class JudgeAccountingTests(AccountingServer server) : IClassFixture<AccountingServer>
{
    [Fact]
    public async Task Unused_batched_judge_calls_count_in_judge_tokens_usage_and_metrics()
    {
        var replies = new List<string>();
        server.Gate.ForceTagsWith = server.Model.Host.Generator.Inputs.Tokenizer;
        server.Gate.JudgeReplies = request =>
        {
            // Pre-checks (text only) all find an error: the first decides; the batch's second pre-check and its
            // pairwise prompt (with the image) were not needed.
            var reply = request.WithImage ? "Since it is clearer, I choose response 1." : "The reasoning is incorrect.";
            lock (replies)
                replies.Add(reply);
            return reply;
        };
        try
        {
            using var response = await server.Client.SendAsync(ServerUnderTest.EventStream(ServerUnderTest.Form(ServerUnderTest.Image(), "How many?",
                ("beam_size", "2"), ("max_new_tokens", "6"), ("seed", "5"))));
            using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
            var frames = (await reader.RestAsync()).Select(f => (f.Event, Data: JsonNode.Parse(f.Data)!)).ToList();
            var judges = frames.Where(f => f.Event == "judge").Select(f => f.Data).ToList();
            var result = frames.Single(f => f.Event == "final").Data["result"]!;

            var reasoning = judges.Single(j => (string?)j["stage"] == "reasoning");
            Assert.Equal("incorrect_reasoning", (string?)reasoning["decision"]);
            Assert.Equal([true, false, false], reasoning["calls"]!.AsArray().Select(c => (bool)c!["used"]!));
            Assert.Equal([false, false, true], reasoning["calls"]!.AsArray().Select(c => (bool)c!["with_image"]!));
            var callTokens = judges.SelectMany(j => j["calls"]!.AsArray()).Sum(c => (int)c!["tokens"]!);
            Assert.Equal(replies.Sum(r => r.Length), callTokens);
            Assert.Equal(callTokens, (int)result["judge_tokens"]!);
            Assert.Equal(replies.Count, (int)result["judge_calls"]!);

            var metrics = await server.Client.GetStringAsync("metrics");
            Assert.Contains($"llavacot_tokens_generated_total{{kind=\"judge\"}} {callTokens}", metrics);
            // One latency per comparison, each the time of its own calls.
            Assert.Contains($"llavacot_judge_duration_seconds_count {judges.Count}", metrics);
            var sum = double.Parse(Regex.Match(metrics, @"llavacot_judge_duration_seconds_sum (\S+)").Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.Equal(judges.Sum(j => (double)j["elapsed_seconds"]!), sum, 6);

            replies.Clear();
            using var chat = await server.Client.PostAsJsonAsync("v1/chat/completions", new
            {
                model = "mllama-tiny", max_tokens = 6, seed = 5, beam_size = 2,
                messages = new[] { new { role = "user", content = "How many?" } },
            });
            var body = await ServerUnderTest.Json(chat);
            var chatResult = body["llavacot"]!["result"]!;
            Assert.Equal(replies.Sum(r => r.Length), (int)chatResult["judge_tokens"]!);
            // The judge's tokens are the usage's own extension; completion_tokens are the answer's.
            Assert.Equal(replies.Sum(r => r.Length), (int)body["usage"]!["llavacot_judge_tokens"]!);
            Assert.Equal((int)chatResult["generated_tokens"]!, (int)body["usage"]!["llavacot_search_tokens"]!);
            var stages = chatResult["stages"]!.AsArray();
            Assert.Equal(stages.Sum(st => (int)st!["candidates"]![(int)st["winner"]!]!), (int)body["usage"]!["completion_tokens"]!);
        }
        finally
        {
            server.Gate.ForceTagsWith = null;
            server.Gate.JudgeReplies = null;
        }
    }
}
