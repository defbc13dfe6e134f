using System.ClientModel;
using System.Text;
using System.Text.Json.Nodes;
using LlavaCot.Training.Shapes;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AiChatRole = Microsoft.Extensions.AI.ChatRole;

namespace LlavaCot.Server.Tests;

/// <summary>
/// Real clients against the real server on the committed shapes model (split format): the official OpenAI .NET client
/// and Microsoft.Extensions.AI's IChatClient over it, as an application would use them.
/// </summary>
public class ReasoningClientTests(DemoServer server) : IClassFixture<DemoServer>
{
    // A question the model never saw, searched with the demo tests' seed.
    private static readonly (ShapeScene Scene, ShapeQuestion Question, ShapeAnswer Answer) Case = DemoServer.HeldOut;
    private const int Seed = DemoServer.Seed;

    private ChatClient OpenAiClient() => server.OpenAiClient();

    [Fact]
    public async Task The_openai_client_reads_the_answer_typed_and_the_stages_from_the_raw_response()
    {
#pragma warning disable OPENAI001 // Seed is marked experimental in the client.
        var options = new ChatCompletionOptions { Seed = Seed };
#pragma warning restore OPENAI001
        ClientResult<ChatCompletion> result = await OpenAiClient().CompleteChatAsync(
        [
            new UserChatMessage(ChatMessageContentPart.CreateTextPart(Case.Question.Text),
                ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(ShapeRenderer.Png(Case.Scene)), "image/png")),
        ], options);
        Assert.Equal(Case.Answer.Conclusion, Assert.Single(result.Value.Content).Text, ignoreCase: true);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, result.Value.FinishReason);
        // The typed model has no reasoning_content: it is read from the raw response.
        var raw = JsonNode.Parse(result.GetRawResponse().Content.ToString())!;
        var reasoning = (string)raw["choices"]![0]!["message"]!["reasoning_content"]!;
        Assert.Matches(@"^<SUMMARY>[\s\S]+</SUMMARY>\s*<CAPTION>[\s\S]+</CAPTION>\s*<REASONING>[\s\S]+</REASONING>$", reasoning);
        Assert.True(result.Value.Usage.OutputTokenCount > result.Value.Usage.OutputTokenDetails.ReasoningTokenCount);
        Assert.True(result.Value.Usage.OutputTokenDetails.ReasoningTokenCount > 0);
    }

    [Fact]
    public async Task An_IChatClient_gets_the_answer_and_usage_streamed_or_not_and_can_ask_a_follow_up()
    {
        IChatClient chat = OpenAiClient().AsIChatClient();
        List<AiChatMessage> messages =
        [
            new(AiChatRole.User, [new TextContent(Case.Question.Text), new DataContent(ShapeRenderer.Png(Case.Scene), "image/png")]),
        ];
        var options = new ChatOptions { Seed = Seed };
        var response = await chat.GetResponseAsync(messages, options);
        Assert.Equal(Case.Answer.Conclusion, response.Text, ignoreCase: true);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Stop, response.FinishReason);
        Assert.True(response.Usage!.InputTokenCount > 0);
        Assert.True(response.Usage.OutputTokenCount > 0);
        Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);

        var streamed = new StringBuilder();
        UsageDetails? usage = null;
        await foreach (var update in chat.GetStreamingResponseAsync(messages, options))
        {
            streamed.Append(update.Text);
            usage ??= update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details;
        }
        Assert.Equal(response.Text, streamed.ToString());
        Assert.Equal(response.Usage.InputTokenCount, usage!.InputTokenCount);
        Assert.Equal(response.Usage.OutputTokenCount, usage.OutputTokenCount);

        // The conversation goes on: the answer given, then a follow-up question about the same image.
        messages.AddRange(response.Messages);
        messages.Add(new AiChatMessage(AiChatRole.User, "Are you sure?"));
        var followUp = await chat.GetResponseAsync(messages, options);
        Assert.False(string.IsNullOrWhiteSpace(followUp.Text));
        Assert.True(followUp.Usage!.InputTokenCount > response.Usage.InputTokenCount);
    }

    [Fact]
    public async Task The_raw_stream_has_the_chunk_shapes_vllm_streams_for_reasoning_models()
    {
        var sample = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Samples", "vllm-reasoning-stream.txt"))
            .Where(l => l.StartsWith("data: {", StringComparison.Ordinal)).Select(l => JsonNode.Parse(l["data: ".Length..])!).ToList();
        var body = server.ChatAboutHeldOut();
        body["stream"] = true;
        body["stream_options"] = new JsonObject { ["include_usage"] = true };
        using var response = await server.Client.PostAsync("v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        var frames = await reader.RestAsync();
        Assert.Equal("[DONE]", frames[^1].Data);
        var ours = frames.SkipLast(1).Select(f => JsonNode.Parse(f.Data)!).ToList();

        // The same kinds of chunk in the same order: role, reasoning deltas, content deltas, finish, usage.
        Assert.Equal(Kinds(sample), Kinds(ours));
        foreach (var kind in Kinds(sample))
        {
            var theirs = Shape(sample.First(k => Kind(k) == kind));
            var mine = Shape(ours.First(k => Kind(k) == kind));
            Assert.True(theirs.IsSubsetOf(mine), $"{kind}: missing {string.Join(", ", theirs.Except(mine))}");
        }
    }

    private static List<string> Kinds(IEnumerable<JsonNode> chunks)
    {
        var kinds = new List<string>();
        foreach (var kind in chunks.Select(Kind))
        {
            if (kinds.Count == 0 || kinds[^1] != kind)
                kinds.Add(kind);
        }
        return kinds;
    }

    private static string Kind(JsonNode chunk)
    {
        if (chunk["choices"]!.AsArray().Count == 0)
            return "usage";
        var choice = chunk["choices"]![0]!;
        var delta = choice["delta"]!.AsObject();
        return choice["finish_reason"] is not null ? "finish"
            : delta.ContainsKey("role") ? "role"
            : delta.ContainsKey("reasoning_content") ? "reasoning"
            : "content";
    }

    /// <summary>Every field's path and JSON type (array items as one), e.g. "choices[].delta.reasoning_content:String".</summary>
    private static HashSet<string> Shape(JsonNode node)
    {
        var shape = new HashSet<string>();
        void Walk(JsonNode? n, string path)
        {
            switch (n)
            {
                case JsonObject o:
                    foreach (var (key, value) in o)
                        Walk(value, path.Length == 0 ? key : $"{path}.{key}");
                    break;
                case JsonArray a:
                    shape.Add($"{path}:Array");
                    foreach (var item in a)
                        Walk(item, path + "[]");
                    break;
                default:
                    shape.Add($"{path}:{n?.GetValueKind().ToString() ?? "Null"}");
                    break;
            }
        }
        Walk(node, "");
        return shape;
    }
}
