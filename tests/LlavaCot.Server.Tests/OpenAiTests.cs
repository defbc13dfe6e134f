using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;

namespace LlavaCot.Server.Tests;

/// <summary>A server that answers chat completions tagged (the whole answer in content) unless a request asks to split.</summary>
public sealed class TaggedServer : ServerUnderTest
{
    protected override IEnumerable<string> Settings => [.. base.Settings, "--LlavaCot:ReasoningFormat=tagged"];
}

public class OpenAiTests(TaggedServer server) : IClassFixture<TaggedServer>
{
    private ChatClient Client() => new("mllama-tiny", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "v1") });

    private static List<ChatMessage> Question() =>
    [
        new UserChatMessage(ChatMessageContentPart.CreateTextPart("What is in the picture?"),
            ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(ServerUnderTest.Image()), "image/png")),
    ];

    // Greedy sampling makes every candidate the same, so the answer is fixed whatever seed the server picks.
    private static ChatCompletionOptions Options() => new() { MaxOutputTokenCount = 10, Temperature = 0 };

    [Fact]
    public async Task The_official_client_gets_a_completion_and_the_same_text_streamed()
    {
        var client = Client();
        ChatCompletion completion = await client.CompleteChatAsync(Question(), Options());
        Assert.Equal("mllama-tiny", completion.Model);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        var text = Assert.Single(completion.Content).Text;
        Assert.False(string.IsNullOrEmpty(text));
        Assert.Contains(completion.FinishReason, new[] { ChatFinishReason.Stop, ChatFinishReason.Length });
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.True(completion.Usage.OutputTokenCount > 0);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);

        var streamed = new StringBuilder();
        var updates = 0;
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in client.CompleteChatStreamingAsync(Question(), Options()))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
                streamed.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        Assert.Equal(text, streamed.ToString());
        // The 10-token budget is the whole answer's: the first stage's winner spends it and the search ends there.
        Assert.True(updates >= 4, $"role, the stage winner, finish and usage; got {updates}");
        Assert.Equal(completion.FinishReason, finish);
        Assert.Equal(completion.Usage.InputTokenCount, usage!.InputTokenCount);
    }

    [Fact]
    public async Task The_official_client_lists_the_model()
    {
        var models = new OpenAIModelClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "v1") });
        OpenAIModelCollection list = await models.GetModelsAsync();
        Assert.Equal("mllama-tiny", Assert.Single(list).Id);
    }

    [Fact]
    public async Task Raw_responses_have_the_openai_shapes_and_take_the_extra_fields()
    {
        var body = JsonNode.Parse($$$"""
            {"model":"mllama-tiny","messages":[{"role":"user","content":[{"type":"text","text":"Describe"},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,{{{Convert.ToBase64String(ServerUnderTest.Image())}}}","detail":"auto"}}]}],
             "max_tokens":8,"seed":5,"reasoning_mode":"best_of_n","beam_size":3,"top_k":20,
             "user":"alice","presence_penalty":0.5,"logit_bias":{"12":1}}
            """)!;
        using var response = await server.Client.PostAsync("v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Fields it does not know are ignored, as OpenAI does, and named; the user id is taken and logged.
        Assert.Equal("logit_bias,presence_penalty", response.Headers.GetValues("X-LlavaCot-Ignored-Fields").Single());
        var c = await ServerUnderTest.Json(response);
        Assert.Equal(["logit_bias", "presence_penalty"], c["llavacot"]!["ignored_fields"]!.AsArray().Select(n => (string?)n));
        Assert.Contains(server.Log.Lines, m => m.Contains("alice", StringComparison.Ordinal) && m.Contains("logit_bias,presence_penalty", StringComparison.Ordinal));
        Assert.StartsWith("chatcmpl-", (string?)c["id"]);
        Assert.Equal("chat.completion", (string?)c["object"]);
        Assert.InRange((long)c["created"]!, DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        var choice = Assert.Single(c["choices"]!.AsArray())!;
        Assert.Equal(0, (int)choice["index"]!);
        Assert.Equal("assistant", (string?)choice["message"]!["role"]);
        Assert.Contains((string?)choice["finish_reason"], new[] { "stop", "length" });
        var usage = c["usage"]!;
        Assert.Equal((int)usage["prompt_tokens"]! + (int)usage["completion_tokens"]!, (int)usage["total_tokens"]!);
        var extra = c["llavacot"]!;
        Assert.Equal(5UL, (ulong)extra["seed"]!);
        Assert.Equal("best_of_n", (string?)extra["result"]!["mode"]);
        Assert.Equal(3, (int)extra["result"]!["beam_size"]!);
        Assert.Equal((string?)extra["result"]!["text"], (string?)choice["message"]!["content"]);

        body["stream"] = true;
        body["stream_options"] = new JsonObject { ["include_usage"] = true };
        using var streamed = await server.Client.PostAsync("v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal("text/event-stream", streamed.Content.Headers.ContentType!.MediaType);
        using var reader = new SseReader(await streamed.Content.ReadAsStreamAsync());
        var frames = await reader.RestAsync();
        Assert.All(reader.Lines, l => Assert.True(l.Length == 0 || l.StartsWith("data: ", StringComparison.Ordinal), l));
        Assert.Equal("[DONE]", frames[^1].Data);
        var chunks = frames.SkipLast(1).Select(f => JsonNode.Parse(f.Data)!).ToList();
        Assert.All(chunks, k =>
        {
            Assert.Equal("chat.completion.chunk", (string?)k["object"]);
            Assert.Equal(((string?)c["id"])!.Length, ((string?)k["id"])!.Length);
            Assert.Equal("mllama-tiny", (string?)k["model"]);
        });
        Assert.Single(chunks.Select(k => (string?)k["id"]).Distinct());
        Assert.Equal("assistant", (string?)chunks[0]["choices"]![0]!["delta"]!["role"]);
        var content = string.Concat(chunks.Where(k => k["choices"]!.AsArray().Count > 0).Select(k => (string?)k["choices"]![0]!["delta"]!["content"]));
        Assert.Equal((string?)choice["message"]!["content"], content);
        Assert.Equal((string?)choice["finish_reason"], (string?)chunks[^2]["choices"]![0]!["finish_reason"]);
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
        Assert.Equal(usage.ToJsonString(), chunks[^1]["usage"]!.ToJsonString());
    }

    /// <summary>Posts a chat completion (streamed or not) for the tiny image; returns the response JSON or the chunks.</summary>
    internal static async Task<(JsonNode Completion, List<JsonNode> Chunks)> Chat(ServerUnderTest server, JsonObject body)
    {
        using var response = await server.Client.PostAsync("v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var completion = await ServerUnderTest.Json(response);
        body["stream"] = true;
        using var streamed = await server.Client.PostAsync("v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        using var reader = new SseReader(await streamed.Content.ReadAsStreamAsync());
        var frames = await reader.RestAsync();
        Assert.Equal("[DONE]", frames[^1].Data);
        return (completion, frames.SkipLast(1).Select(f => JsonNode.Parse(f.Data)!).ToList());
    }

    /// <summary>What the chunks' deltas of <paramref name="field"/> add up to.</summary>
    internal static string Streamed(List<JsonNode> chunks, string field) =>
        string.Concat(chunks.Where(k => k["choices"]!.AsArray().Count > 0).Select(k => (string?)k["choices"]![0]!["delta"]![field]));

    [Fact]
    public async Task Split_without_a_conclusion_puts_everything_in_reasoning_and_leaves_content_empty()
    {
        var body = JsonNode.Parse($$$"""
            {"model":"mllama-tiny","messages":[{"role":"user","content":[{"type":"text","text":"Describe"},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,{{{Convert.ToBase64String(ServerUnderTest.Image())}}}"}}]}],
             "max_tokens":6,"seed":9,"beam_size":2,"reasoning_format":"split"}
            """)!.AsObject();
        var (c, chunks) = await Chat(server, body);
        var message = c["choices"]![0]!["message"]!;
        var text = (string)c["llavacot"]!["result"]!["text"]!;
        // The random model writes no tags: no CONCLUSION, so no content; the answer is all reasoning.
        Assert.Equal("", (string?)message["content"]);
        Assert.Equal(text.TrimEnd(), (string?)message["reasoning_content"]);
        Assert.Equal((string?)message["reasoning_content"], (string?)message["reasoning"]);
        // Six-token stages stop on their budget: the reply says the limit cut it.
        Assert.Equal("length", (string?)c["choices"]![0]!["finish_reason"]);
        Assert.Equal((string?)message["reasoning_content"], Streamed(chunks, "reasoning_content"));
        Assert.Equal("", Streamed(chunks, "content"));

        body["reasoning_format"] = "both";
        using var bad = await server.Client.PostAsync("v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("reasoning_format", await bad.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Max_tokens_bounds_the_whole_answer_and_says_length_when_it_cut_it()
    {
        var body = JsonNode.Parse($$$"""
            {"model":"mllama-tiny","messages":[{"role":"user","content":[{"type":"text","text":"Describe"},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,{{{Convert.ToBase64String(ServerUnderTest.Image())}}}"}}]}],
             "max_completion_tokens":30,"seed":4,"beam_size":2}
            """)!.AsObject();
        var (c, _) = await Chat(server, body);
        var usage = c["usage"]!;
        // The random model never closes a stage: the first stage's winner takes the whole budget and the search ends.
        Assert.Equal(30, (int)usage["completion_tokens"]!);
        Assert.Equal("length", (string?)c["choices"]![0]!["finish_reason"]);
        Assert.Single(c["llavacot"]!["result"]!["stages"]!.AsArray());

        body["max_completion_tokens"] = 0;
        using var bad = await server.Client.PostAsync("v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("max_completion_tokens", await bad.Content.ReadAsStringAsync());
    }
}
