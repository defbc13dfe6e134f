using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Tests;

namespace LlavaCot.Server.Tests;

/// <summary>Conversations and n on the chat endpoint (the tiny model, the whole answer in content).</summary>
public class ChatConversationTests(TaggedServer server) : IClassFixture<TaggedServer>
{
    private static readonly string ImageUri = $"data:image/png;base64,{Convert.ToBase64String(ServerUnderTest.Image())}";

    private static JsonObject Body(string messages, string extra = "") =>
        JsonNode.Parse($$"""{"model":"mllama-tiny","messages":{{messages}},"max_tokens":6,"seed":3,"beam_size":2{{extra}}}""")!.AsObject();

    private async Task<JsonNode> Post(JsonObject body)
    {
        using var response = await server.Client.PostAsync("v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!;
    }

    private static int Tokens(string rendered)
    {
        var config = MllamaConfig.Load(Fixtures.MllamaTiny);
        return TokenizerLoader.Load(Fixtures.MllamaTiny, config).EncodeTemplate(rendered).Count;
    }

    [Fact]
    public async Task Earlier_turns_are_rendered_into_the_prompt_with_the_image_in_the_turn_that_sent_it()
    {
        var c = await Post(Body($$$"""
            [{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"{{{ImageUri}}}"}}]},
             {"role":"assistant","content":"Three."},
             {"role":"user","content":[{"type":"text","text":"And red"},{"type":"text","text":"ones?"}]}]
            """));
        // The template's rendering, written out: no system block beside an image; text parts joined by newlines.
        var expected = "<|begin_of_text|><|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<|image|>What is this?<|eot_id|>" +
                       "<|start_header_id|>assistant<|end_header_id|>\n\nThree.<|eot_id|>" +
                       "<|start_header_id|>user<|end_header_id|>\n\nAnd red\nones?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
        Assert.Equal(Tokens(expected), (int)c["usage"]!["prompt_tokens"]!);
        Assert.False(string.IsNullOrEmpty((string?)c["choices"]![0]!["message"]!["content"]));
    }

    [Fact]
    public async Task A_text_only_conversation_carries_the_system_message_in_the_dated_system_block()
    {
        var c = await Post(Body("""
            [{"role":"system","content":" Be brief. "},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"Why?"}]
            """, ""","date":"2024-07-26" """));
        var expected = "<|begin_of_text|><|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
                       "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nBe brief.<|eot_id|>" +
                       "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello<|eot_id|>" +
                       "<|start_header_id|>user<|end_header_id|>\n\nWhy?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
        Assert.Equal(Tokens(expected), (int)c["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task N_choices_are_independent_searches_seeded_seed_plus_i_each_as_a_single_request_gives()
    {
        var question = $$$"""[{"role":"user","content":[{"type":"text","text":"Describe"},{"type":"image_url","image_url":{"url":"{{{ImageUri}}}"}}]}]""";
        var c = await Post(Body(question, ""","n":3,"seed":7"""));
        var choices = c["choices"]!.AsArray();
        Assert.Equal([0, 1, 2], choices.Select(k => (int)k!["index"]!));
        Assert.Equal([7UL, 8UL, 9UL], c["llavacot"]!["choices"]!.AsArray().Select(k => (ulong)k!["seed"]!));
        var completionTokens = 0;
        for (var i = 0; i < 3; i++)
        {
            // One search alone with seed 7 + i answers what choice i answered (the test server runs one search at a time).
            var single = await Post(Body(question, $$""","seed":{{7 + i}}"""));
            Assert.Equal((string?)single["choices"]![0]!["message"]!["content"], (string?)choices[i]!["message"]!["content"]);
            Assert.Equal((string?)single["choices"]![0]!["finish_reason"], (string?)choices[i]!["finish_reason"]);
            completionTokens += (int)single["usage"]!["completion_tokens"]!;
            Assert.Equal((int)single["usage"]!["prompt_tokens"]!, (int)c["usage"]!["prompt_tokens"]!);
        }
        // The prompt counts once; the choices' answers add up.
        Assert.Equal(completionTokens, (int)c["usage"]!["completion_tokens"]!);

        var body = Body(question, ""","n":3,"seed":7,"stream":true,"stream_options":{"include_usage":true}""");
        using var streamed = await server.Client.PostAsync("v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        using var reader = new SseReader(await streamed.Content.ReadAsStreamAsync());
        var frames = await reader.RestAsync();
        Assert.Equal("[DONE]", frames[^1].Data);
        var chunks = frames.SkipLast(1).Select(f => JsonNode.Parse(f.Data)!).ToList();
        Assert.Equal(c["usage"]!.ToJsonString(), chunks[^1]["usage"]!.ToJsonString());
        for (var i = 0; i < 3; i++)
        {
            var mine = chunks.SkipLast(1).Select(k => k["choices"]!.AsArray().Single()!).Where(k => (int)k["index"]! == i).ToList();
            Assert.Equal("assistant", (string?)mine[0]["delta"]!["role"]);
            Assert.Equal((string?)choices[i]!["message"]!["content"], string.Concat(mine.Select(k => (string?)k["delta"]!["content"])));
            Assert.Equal((string?)choices[i]!["finish_reason"], (string?)mine[^1]["finish_reason"]);
        }
    }
}

/// <summary>A server that runs one search and queues one: two searches at most are ever admitted together.</summary>
public sealed class SmallQueueServer : ServerUnderTest
{
    protected override IEnumerable<string> Settings => [.. base.Settings, "--LlavaCot:QueueLength=1"];
}

public class ChatChoiceLimitTests(SmallQueueServer server) : IClassFixture<SmallQueueServer>
{
    [Fact]
    public async Task More_choices_than_the_server_can_ever_admit_together_are_a_400_not_a_429()
    {
        var body = """{"model":"mllama-tiny","messages":[{"role":"user","content":"hi"}],"n":3,"max_tokens":4}""";
        using var response = await server.Client.PostAsync("v1/chat/completions", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Contains("runs 1 and queues 1", (string?)problem["errors"]!["n"]![0]);
        using var two = await server.Client.PostAsync("v1/chat/completions",
            new StringContent(body.Replace("\"n\":3", "\"n\":2", StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, two.StatusCode);
    }
}
