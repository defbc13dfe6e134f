using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaCot.Training.Shapes;
using OpenAI;
using OpenAI.Chat;

namespace LlavaCot.Server.Tests;

/// <summary>OpenAI's logprobs and top_logprobs on the demo model, through the official client and on the wire.</summary>
public class LogProbTests(DemoServer server) : IClassFixture<DemoServer>
{
    // A held-out question with a numeric answer, searched with the demo tests' seed.
    private static readonly (ShapeScene Scene, ShapeQuestion Question, ShapeAnswer Answer) Case = DemoServer.HeldOut;
    private const int Seed = DemoServer.Seed;

    private ChatClient Client() => server.OpenAiClient();

    private static List<ChatMessage> Question() =>
    [
        new UserChatMessage(ChatMessageContentPart.CreateTextPart(Case.Question.Text),
            ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(ShapeRenderer.Png(Case.Scene)), "image/png")),
    ];

    private JsonObject Body(int topLogprobs, int n = 1)
    {
        var body = server.ChatAboutHeldOut();
        body["n"] = n;
        body["logprobs"] = true;
        body["top_logprobs"] = topLogprobs;
        return body;
    }

    internal static string Tokens(JsonNode? list) => string.Concat(list!.AsArray().Select(t => (string)t!["token"]!));

    [Fact]
    public async Task The_openai_client_gets_the_answers_token_log_probabilities_streamed_or_not()
    {
#pragma warning disable OPENAI001 // Seed is marked experimental in the client.
        var options = new ChatCompletionOptions { Seed = Seed, IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };
#pragma warning restore OPENAI001
        var client = Client();
        ClientResult<ChatCompletion> result = await client.CompleteChatAsync(Question(), options);
        var content = Assert.Single(result.Value.Content).Text;
        Assert.Equal(Case.Answer.Conclusion, content, ignoreCase: true);
        var tokens = result.Value.ContentTokenLogProbabilities;
        Assert.NotEmpty(tokens);
        // content's tokens spell content: the CONCLUSION's tags and the white space trimmed from it are in neither field.
        Assert.Equal(content, string.Concat(tokens.Select(t => t.Token)));
        Assert.All(tokens, t =>
        {
            Assert.True(t.LogProbability <= 0, $"{t.Token}: {t.LogProbability}");
            Assert.Equal(3, t.TopLogProbabilities.Count);
            Assert.Equal(Encoding.UTF8.GetBytes(t.Token), t.Utf8Bytes!.Value.ToArray());
            Assert.Equal(t.TopLogProbabilities.Select(a => a.LogProbability).OrderDescending(), t.TopLogProbabilities.Select(a => a.LogProbability));
            Assert.True(t.LogProbability <= t.TopLogProbabilities[0].LogProbability);
        });

        var raw = JsonNode.Parse(result.GetRawResponse().Content.ToString())!;
        var choice = raw["choices"]![0]!;
        var logprobs = choice["logprobs"]!;
        AssertOpenAiShape(logprobs["content"]!, 3);
        // The reasoning's tokens, in the extra field beside content: they spell reasoning_content, tags kept (the last
        // one may carry white space the split trims).
        AssertOpenAiShape(logprobs["reasoning_content"]!, 3);
        var reasoning = (string)choice["message"]!["reasoning_content"]!;
        Assert.Equal(reasoning, Tokens(logprobs["reasoning_content"]).TrimEnd());
        Assert.DoesNotContain("CONCLUSION", Tokens(logprobs["reasoning_content"]) + Tokens(logprobs["content"]));
        Assert.Equal(JsonValueKind.Null, logprobs["refusal"]?.GetValueKind() ?? JsonValueKind.Null);

        var streamed = new StringBuilder();
        var streamedTokens = new List<ChatTokenLogProbabilityDetails>();
        await foreach (var update in client.CompleteChatStreamingAsync(Question(), options))
        {
            foreach (var part in update.ContentUpdate)
                streamed.Append(part.Text);
            streamedTokens.AddRange(update.ContentTokenLogProbabilities);
        }
        Assert.Equal(content, streamed.ToString());
        Assert.Equal(tokens.Select(t => (t.Token, t.LogProbability)), streamedTokens.Select(t => (t.Token, t.LogProbability)));
    }

    /// <summary>Fields and types as OpenAI documents them: token, logprob, bytes (byte values), top_logprobs of token, logprob, bytes.</summary>
    private static void AssertOpenAiShape(JsonNode list, int top)
    {
        Assert.NotEmpty(list.AsArray());
        foreach (var item in list.AsArray())
        {
            Assert.Equal(["token", "logprob", "bytes", "top_logprobs"], item!.AsObject().Select(p => p.Key));
            AssertTokenShape(item);
            Assert.Equal(top, item["top_logprobs"]!.AsArray().Count);
            foreach (var alternative in item["top_logprobs"]!.AsArray())
            {
                Assert.Equal(["token", "logprob", "bytes"], alternative!.AsObject().Select(p => p.Key));
                AssertTokenShape(alternative);
            }
        }
    }

    private static void AssertTokenShape(JsonNode item)
    {
        Assert.Equal(JsonValueKind.String, item["token"]!.GetValueKind());
        Assert.Equal(JsonValueKind.Number, item["logprob"]!.GetValueKind());
        var bytes = item["bytes"]!.AsArray().Select(b => (int)b!).ToArray();
        Assert.All(bytes, b => Assert.InRange(b, 0, 255));
        Assert.Equal((string)item["token"]!, Encoding.UTF8.GetString(bytes.Select(b => (byte)b).ToArray()));
    }

    [Fact]
    public async Task Each_streamed_chunk_carries_the_log_probabilities_of_the_tokens_whose_text_it_carries()
    {
        var (completion, chunks) = await OpenAiTests.Chat(server, Body(2));
        var logprobs = completion["choices"]![0]!["logprobs"]!;
        var choices = chunks.Where(k => k["choices"]!.AsArray().Count > 0).Select(k => k["choices"]![0]!).ToList();
        // The role and finish chunks carry no text, so no tokens.
        Assert.Null(choices[0]["logprobs"]);
        Assert.Null(choices[^1]["logprobs"]);
        var deltas = choices.Where(c => c["delta"]!["reasoning_content"] is not null || c["delta"]!["content"] is { } t && (string)t! != "").ToList();
        Assert.Equal(4, deltas.Count);
        foreach (var c in deltas)
        {
            var reasoningDelta = (string?)c["delta"]!["reasoning_content"];
            var (text, field, other) = reasoningDelta is null
                ? ((string)c["delta"]!["content"]!, "content", "reasoning_content")
                : (reasoningDelta, "reasoning_content", "content");
            Assert.Empty(c["logprobs"]![other]!.AsArray());
            // A stage's trailing white space is trimmed from its delta and opens the next one: tokens follow their text.
            Assert.Equal(Squeezed(text), Squeezed(Tokens(c["logprobs"]![field])));
        }
        // Together, the chunks carry the tokens of the whole reply, each once, in order. The streamed and the whole reply
        // are two requests, batched as they arrive: a row beside another may round in the last bits as it would not alone.
        foreach (var field in new[] { "reasoning_content", "content" })
        {
            var whole = logprobs[field]!.AsArray();
            var streamed = deltas.SelectMany(c => c["logprobs"]![field]!.AsArray()).ToList();
            Assert.Equal(whole.Select(t => (string?)t!["token"]), streamed.Select(t => (string?)t!["token"]));
            for (var i = 0; i < whole.Count; i++)
            {
                Assert.Equal((double)whole[i]!["logprob"]!, (double)streamed[i]!["logprob"]!, 1e-4);
                Assert.Equal(whole[i]!["bytes"]!.ToJsonString(), streamed[i]!["bytes"]!.ToJsonString());
                var (a, b) = (whole[i]!["top_logprobs"]!.AsArray(), streamed[i]!["top_logprobs"]!.AsArray());
                Assert.Equal(a.Count, b.Count);
                for (var k = 0; k < a.Count; k++)
                    Assert.Equal((double)a[k]!["logprob"]!, (double)b[k]!["logprob"]!, 1e-4);
            }
        }
    }

    private static string Squeezed(string text) => string.Concat(text.Where(c => !char.IsWhiteSpace(c)));

    [Fact]
    public async Task A_two_stage_answer_from_a_completion_call_has_its_log_probabilities_too()
    {
        var body = Body(1);
        body["reasoning_mode"] = "two_stage";
        using var response = await server.Client.PostAsync("v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var choice = (await ServerUnderTest.Json(response))["choices"]![0]!;
        var message = choice["message"]!;
        var logprobs = choice["logprobs"]!;
        Assert.NotEmpty(logprobs["reasoning_content"]!.AsArray().Concat(logprobs["content"]!.AsArray()));
        Assert.Equal((string)message["content"]!, Tokens(logprobs["content"]));
        Assert.Equal((string)message["reasoning_content"]!, Tokens(logprobs["reasoning_content"]).TrimEnd());
    }

    [Fact]
    public async Task Each_of_n_choices_has_the_log_probabilities_of_its_own_answer()
    {
        using var response = await server.Client.PostAsync("v1/chat/completions",
            new StringContent(Body(1, n: 2).ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var completion = await ServerUnderTest.Json(response);
        var choices = completion["choices"]!.AsArray();
        Assert.Equal(2, choices.Count);
        foreach (var choice in choices)
        {
            var message = choice!["message"]!;
            Assert.Equal((string)message["content"]!, Tokens(choice["logprobs"]!["content"]));
            Assert.Equal((string)message["reasoning_content"]!, Tokens(choice["logprobs"]!["reasoning_content"]).TrimEnd());
        }
    }
}

/// <summary>The logprobs fields' rules, and the tagged format, on the tiny model.</summary>
public class LogProbRequestTests(TaggedServer server) : IClassFixture<TaggedServer>
{
    private static JsonObject Body() => JsonNode.Parse($$$"""
        {"model":"mllama-tiny","messages":[{"role":"user","content":[{"type":"text","text":"Describe"},
          {"type":"image_url","image_url":{"url":"data:image/png;base64,{{{Convert.ToBase64String(ServerUnderTest.Image())}}}"}}]}],
         "max_tokens":12,"temperature":0,"beam_size":2}
        """)!.AsObject();

    private async Task<(HttpStatusCode Status, string Body)> Post(JsonObject body)
    {
        using var response = await server.Client.PostAsync("v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(true, 21)]
    [InlineData(true, -1)]
    [InlineData(false, 2)]
    [InlineData(null, 2)]
    public async Task Top_logprobs_out_of_0_to_20_or_without_logprobs_is_a_400_naming_it(bool? logprobs, int top)
    {
        var body = Body();
        if (logprobs is { } on)
            body["logprobs"] = on;
        body["top_logprobs"] = top;
        var (status, problem) = await Post(body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var errors = JsonNode.Parse(problem)!["errors"]!.AsObject();
        Assert.Equal("top_logprobs", Assert.Single(errors).Key);
    }

    [Fact]
    public async Task Without_logprobs_the_choice_and_every_chunk_have_logprobs_null()
    {
        var (completion, chunks) = await OpenAiTests.Chat(server, Body());
        var choice = completion["choices"]![0]!.AsObject();
        Assert.True(choice.ContainsKey("logprobs"));
        Assert.Null(choice["logprobs"]);
        Assert.All(chunks.Where(k => k["choices"]!.AsArray().Count > 0), k => Assert.Null(k["choices"]![0]!["logprobs"]));
    }

    [Fact]
    public async Task Tagged_every_token_of_the_answer_that_adds_text_is_in_content_streamed_or_not()
    {
        var body = Body();
        body["logprobs"] = true;
        var (completion, chunks) = await OpenAiTests.Chat(server, body);
        var choice = completion["choices"]![0]!;
        var logprobs = choice["logprobs"]!.AsObject();
        Assert.False(logprobs.ContainsKey("reasoning_content"));
        var tokens = logprobs["content"]!.AsArray();
        Assert.InRange(tokens.Count, 1, (int)completion["usage"]!["completion_tokens"]!);
        Assert.All(tokens, t => Assert.Empty(t!["top_logprobs"]!.AsArray()));
        // The random model writes arbitrary bytes: its tokens' bytes, not their texts, add up to the answer.
        Assert.Equal((string)choice["message"]!["content"]!, Encoding.UTF8.GetString(Bytes(tokens)));
        var streamed = chunks.Where(k => k["choices"]!.AsArray().Count > 0 && k["choices"]![0]!["logprobs"] is not null)
            .SelectMany(k => k["choices"]![0]!["logprobs"]!["content"]!.AsArray()).ToList();
        Assert.Equal(Bytes(tokens), Bytes(streamed));
    }

    private static byte[] Bytes(IEnumerable<JsonNode?> tokens) => tokens.SelectMany(t => t!["bytes"]!.AsArray().Select(b => (byte)(int)b!)).ToArray();
}
