using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LlavaCot.Training.Shapes;

namespace LlavaCot.Server.Tests;

/// <summary>The real server on the trained shapes model shipped beside the binaries (behind the test gate).</summary>
public sealed class DemoServer : ServerUnderTest
{
    protected override IEnumerable<string> ModelArgs => ["--model", LlavaCot.Runtime.BundledModel.Directory];
}

/// <summary>The committed shapes model really reasons: tags, judge verdicts, the right answer.</summary>
public partial class DemoModelTests(DemoServer server) : IClassFixture<DemoServer>
{
    // A question from the shapes generator under a seed the model was never trained on (training uses seed 1).
    private const ulong QuestionSeed = 424242;
    private const int QuestionIndex = 0;

    [GeneratedRegex(@"^Since .+, I choose response ([12])\.")]
    private static partial Regex Verdict();

    [Fact]
    public async Task The_bundled_demo_answers_a_generated_question_right_through_a_stage_search_with_parsed_verdicts()
    {
        var (scene, question, answer) = ShapeDataset.Draw(QuestionSeed, QuestionIndex);
        using var response = await server.Client.SendAsync(ServerUnderTest.EventStream(ServerUnderTest.Form(ShapeRenderer.Png(scene), question.Text,
            ("mode", "stage_beam"), ("beam_size", "2"), ("seed", "7"))), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        var frames = await reader.RestAsync();
        var events = frames.Select(f => (f.Event, Data: JsonNode.Parse(f.Data)!)).ToList();

        Assert.Equal(["summary", "caption", "reasoning", "conclusion"],
            events.Where(e => e.Event == "stage_winner").Select(e => (string?)e.Data["stage"]));
        var judged = events.Where(e => e.Event == "judge" && (string?)e.Data["decision"] == "judge").Select(e => e.Data).ToList();
        Assert.NotEmpty(judged);
        foreach (var j in judged)
        {
            var reply = (string)j["calls"]!.AsArray()[^1]!["reply"]!;
            var match = Verdict().Match(reply.Trim());
            Assert.True(match.Success, $"judge reply '{reply}' is not a verdict");
            var chosen = match.Groups[1].Value == "1" ? (int)j["first"]! : (int)j["second"]!;
            Assert.Equal(chosen, (int)j["winner"]!);
        }
        var final = events.Single(e => e.Event == "final").Data["result"]!;
        Assert.Matches(@"^<SUMMARY>[\s\S]+</SUMMARY>\s*<CAPTION>[\s\S]+</CAPTION>\s*<REASONING>[\s\S]+</REASONING>\s*<CONCLUSION>[\s\S]+</CONCLUSION>",
            (string)final["text"]!);
        Assert.Equal(answer.Conclusion, ((string)final["conclusion"]!).Trim(), ignoreCase: true);
    }
}
