using System.ClientModel;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LlavaCot.Training.Shapes;
using OpenAI;
using OpenAI.Chat;

namespace LlavaCot.Server.Tests;

/// <summary>The real server with no model configured: it serves the bundled demo model (behind the test gate).</summary>
public sealed class DemoServer : ServerUnderTest
{
    protected override IEnumerable<string> ModelArgs => [];

    /// <summary>A seed of the shapes generator the model was never trained on (training draws its scenes from seed 1).</summary>
    public const ulong HeldOutSeed = 424242;

    /// <summary>A question the model never saw, with a numeric answer.</summary>
    public static readonly (ShapeScene Scene, ShapeQuestion Question, ShapeAnswer Answer) HeldOut = ShapeDataset.Draw(HeldOutSeed, 0);

    /// <summary>The search seed the demo's tests ask <see cref="HeldOut"/> with.</summary>
    public const int Seed = 7;

    /// <summary>A chat completion request asking <see cref="HeldOut"/> with its image, seeded with <see cref="Seed"/>.</summary>
    public JsonObject ChatAboutHeldOut() => new()
    {
        ["model"] = Model.Model.Id,
        ["messages"] = new JsonArray(new JsonObject
        {
            ["role"] = "user",
            ["content"] = new JsonArray(
                new JsonObject { ["type"] = "text", ["text"] = HeldOut.Question.Text },
                new JsonObject
                {
                    ["type"] = "image_url",
                    ["image_url"] = new JsonObject { ["url"] = "data:image/png;base64," + Convert.ToBase64String(ShapeRenderer.Png(HeldOut.Scene)) },
                }),
        }),
        ["seed"] = Seed,
        // The tests that use it look at the stages of a stage search; the model's default mode answers in one.
        ["reasoning_mode"] = "stage_beam",
    };

    /// <summary>The official OpenAI client pointed at this server's model.</summary>
    public ChatClient OpenAiClient() =>
        new(Model.Model.Id, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(BaseAddress, "v1") });
}

/// <summary>The committed demo model, served with no model configured, really reasons: tags, judge verdicts, the right answer.</summary>
public partial class DemoModelTests(DemoServer server) : IClassFixture<DemoServer>
{
    // A held-out question whose candidates part in the caption stage (under seed 7): most of the demo's candidates are word for word the
    // same, and identical candidates are not judged.
    private const int JudgedQuestionIndex = 6;

    [GeneratedRegex(@"^Since .+, I choose response ([12])\.")]
    private static partial Regex Verdict();

    [Fact]
    public async Task The_bundled_demo_answers_a_generated_question_right_through_a_stage_search_with_parsed_verdicts()
    {
        var (scene, question, answer) = ShapeDataset.Draw(DemoServer.HeldOutSeed, JudgedQuestionIndex);
        using var response = await server.Client.SendAsync(ServerUnderTest.EventStream(ServerUnderTest.Form(ShapeRenderer.Png(scene), question.Text,
            ("mode", "stage_beam"), ("beam_size", "2"), ("seed", "7"))), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        var frames = await reader.RestAsync();
        var events = frames.Select(f => (f.Event, Data: JsonNode.Parse(f.Data)!)).ToList();

        Assert.Equal(["summary", "caption", "reasoning", "conclusion"],
            events.Where(e => e.Event == "stage_winner").Select(e => (string?)e.Data["stage"]));
        // Every pairwise reply (also one a batch made unneeded) is a verdict; where it decided, the winner is its choice.
        var judged = events.Where(e => e.Event == "judge" && e.Data["calls"]!.AsArray().Count > 0).Select(e => e.Data).ToList();
        Assert.NotEmpty(judged);
        foreach (var j in judged)
        {
            var pairwise = j["calls"]!.AsArray().Single(c => (bool)c!["with_image"]!)!;
            var reply = (string)pairwise["reply"]!;
            var match = Verdict().Match(reply.Trim());
            Assert.True(match.Success, $"judge reply '{reply}' is not a verdict");
            var chosen = match.Groups[1].Value == "1" ? (int)j["first"]! : (int)j["second"]!;
            if ((string?)j["decision"] == "judge")
                Assert.Equal(chosen, (int)j["winner"]!);
        }
        Assert.Contains(events, e => e.Event == "judge" && (string?)e.Data["decision"] == "identical" && e.Data["calls"]!.AsArray().Count == 0);
        var final = events.Single(e => e.Event == "final").Data["result"]!;
        Assert.Matches(@"^<SUMMARY>[\s\S]+</SUMMARY>\s*<CAPTION>[\s\S]+</CAPTION>\s*<REASONING>[\s\S]+</REASONING>\s*<CONCLUSION>[\s\S]+</CONCLUSION>",
            (string)final["text"]!);
        Assert.Equal(answer.Conclusion, ((string)final["conclusion"]!).Trim(), ignoreCase: true);
    }

    [Fact]
    public async Task Chat_completions_give_the_stages_as_reasoning_content_and_the_answer_alone_as_content()
    {
        var answer = DemoServer.HeldOut.Answer;
        var body = ChatAboutTheQuestion();
        body["reasoning_mode"] = "stage_beam";
        var (c, chunks) = await OpenAiTests.Chat(server, body);
        var message = c["choices"]![0]!["message"]!;
        Assert.Equal(answer.Conclusion, (string?)message["content"], ignoreCase: true);
        var reasoning = (string)message["reasoning_content"]!;
        Assert.Matches(@"^<SUMMARY>[\s\S]+</SUMMARY>\s*<CAPTION>[\s\S]+</CAPTION>\s*<REASONING>[\s\S]+</REASONING>$", reasoning);
        Assert.DoesNotContain("CONCLUSION", reasoning);
        Assert.Equal("stop", (string?)c["choices"]![0]!["finish_reason"]);
        // Streamed: the three stages as reasoning deltas, then the answer as the only content.
        Assert.Equal(reasoning, OpenAiTests.Streamed(chunks, "reasoning_content"));
        Assert.Equal((string?)message["content"], OpenAiTests.Streamed(chunks, "content"));
        Assert.Equal(3, chunks.Count(k => k["choices"]!.AsArray().Count > 0 && k["choices"]![0]!["delta"]!["reasoning_content"] is not null));

        // Usage counts the answer returned (each stage's winner), its reasoning apart, and the search's extra work.
        var result = c["llavacot"]!["result"]!;
        var stages = result["stages"]!.AsArray();
        var winners = stages.Sum(st => (int)st!["candidates"]![(int)st["winner"]!]!);
        var usage = c["usage"]!;
        Assert.Equal(winners, (int)usage["completion_tokens"]!);
        var conclusion = (int)stages[^1]!["candidates"]![(int)stages[^1]!["winner"]!]!;
        Assert.Equal(winners - conclusion, (int)usage["completion_tokens_details"]!["reasoning_tokens"]!);
        Assert.Equal((int)result["generated_tokens"]!, (int)usage["llavacot_search_tokens"]!);
        Assert.Equal((int)result["judge_tokens"]!, (int)usage["llavacot_judge_tokens"]!);
        Assert.True((int)usage["llavacot_search_tokens"]! > winners);
    }

    [Fact]
    public async Task A_stop_string_ends_the_answer_where_it_first_appears_and_the_search_there()
    {
        var body = ChatAboutTheQuestion();
        body["stop"] = new JsonArray("</CAPTION>", "never appears");
        body["reasoning_format"] = "tagged";
        var (c, chunks) = await OpenAiTests.Chat(server, body);
        var content = (string)c["choices"]![0]!["message"]!["content"]!;
        Assert.Matches(@"^<SUMMARY>[\s\S]+</SUMMARY>\s*<CAPTION>[^<]+$", content);
        Assert.Equal("stop", (string?)c["choices"]![0]!["finish_reason"]);
        // The search ended with the stage that showed the stop string.
        Assert.Equal(2, c["llavacot"]!["result"]!["stages"]!.AsArray().Count);
        Assert.Equal(content, OpenAiTests.Streamed(chunks, "content"));
    }

    /// <summary>A chat completion request (stage search N=2, seed 7) for the generated question and its image.</summary>
    private JsonObject ChatAboutTheQuestion()
    {
        var body = server.ChatAboutHeldOut();
        body["beam_size"] = 2;
        return body;
    }
}
