using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LlavaCot.Training.Shapes;

namespace LlavaCot.Server.Tests;

/// <summary>
/// Every mode with each scorer it takes (and single and two_stage, which take none), through the real server on the bundled
/// demo model, streamed as SSE: the events the scorer and
/// the mode add, a four-stage answer, and what the scoring cost in the result, the OpenAI usage and the metrics.
/// </summary>
public class ScorerModeTests(DemoServer server) : IClassFixture<DemoServer>
{
    // A held-out question; under seed 2 its two candidates give different answers, so self-consistency has a tie to break.
    private const ulong QuestionSeed = DemoServer.HeldOutSeed;
    private const int QuestionIndex = 16;
    private const int Seed = 2;

    private const string FourStages =
        @"^<SUMMARY>[\s\S]+</SUMMARY>\s*<CAPTION>[\s\S]+</CAPTION>\s*<REASONING>[\s\S]+</REASONING>\s*<CONCLUSION>[\s\S]+</CONCLUSION>";

    public static TheoryData<string, string?, int, string, string[]> Modes => new()
    {
        // mode, scorer sent (null: the mode's default), beam size, the scorer that runs, the events only this mode sends
        { "single", null, 1, "none", [] },
        { "two_stage", null, 1, "none", [] },
        { "stage_beam", null, 2, "pairwise", [] },
        { "stage_beam", "verifier", 2, "verifier", [] },
        { "best_of_n", "pairwise", 3, "pairwise", [] },
        { "sentence_beam", null, 2, "pairwise", [] },
        { "best_of_n", "verifier", 3, "verifier", [] },
        { "swires", null, 2, "verifier", ["swires_round"] },
        { "self_consistency", "verifier", 2, "verifier", ["vote"] },
        { "self_consistency", "pairwise", 2, "pairwise", ["vote"] },
        { "weighted_best_of_n", null, 3, "verifier", ["vote"] },
    };

    private static (byte[] Image, string Question) TheQuestion()
    {
        var (scene, question, _) = ShapeDataset.Draw(QuestionSeed, QuestionIndex);
        return (ShapeRenderer.Png(scene), question.Text);
    }

    private async Task<List<(string? Event, JsonNode Data)>> Events(params (string Name, string Value)[] fields)
    {
        var (image, question) = TheQuestion();
        using var response = await server.Client.SendAsync(ServerUnderTest.EventStream(ServerUnderTest.Form(image, question, fields)),
            HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        return (await reader.RestAsync()).Select(f => (f.Event, JsonNode.Parse(f.Data)!)).ToList();
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Each_mode_runs_with_its_scorer_and_streams_what_it_scored_and_counted(string mode, string? scorer, int beamSize,
        string runs, string[] modeEvents)
    {
        (string, string)[] fields = [("mode", mode), ("beam_size", beamSize.ToString(CultureInfo.InvariantCulture)), ("seed", Seed.ToString(CultureInfo.InvariantCulture))];
        var events = await Events(scorer is null ? fields : [.. fields, ("scorer", scorer)]);

        var result = events.Single(e => e.Event == "final").Data["result"]!;
        // two_stage answers a second prompt of its own; its text is that reply, after the rationale's stages.
        if (mode == "two_stage")
            Assert.Equal(["rationale", "answer"], result["stages"]!.AsArray().Select(st => (string?)st!["stage"]));
        else
            Assert.Matches(FourStages, (string)result["text"]!);
        Assert.Equal((mode, runs), ((string)result["mode"]!, (string)result["scorer"]!));
        foreach (var kind in new[] { "vote", "swires_round" })
            Assert.Equal(modeEvents.Contains(kind), events.Any(e => e.Event == kind));

        var scores = events.Where(e => e.Event == "score").Select(e => e.Data).ToList();
        if (runs == "verifier")
        {
            Assert.NotEmpty(scores);
            Assert.All(scores, s => Assert.InRange((double)s["score"]!, 0, 1));
            // What the result counts is what the events show: one call per candidate the verifier ran.
            var called = scores.Where(s => (string?)s["decision"] == "verifier").ToList();
            Assert.Equal(called.Count, (int)result["score_calls"]!);
            Assert.Equal(called.Sum(s => (int)s["tokens"]!), (int)result["score_tokens"]!);
            Assert.True((int)result["score_tokens"]! > 0);
            Assert.DoesNotContain(events, e => e.Event == "judge");
        }
        else
        {
            Assert.Empty(scores);
            Assert.Equal(0, (int)result["score_calls"]!);
            // The pairwise judge streams each comparison (self-consistency's only where the vote ties).
            if (runs == "pairwise" && mode != "self_consistency")
                Assert.Contains(events, e => e.Event == "judge");
            if (runs == "none")
                Assert.DoesNotContain(events, e => e.Event == "judge");
        }

        // Every scored candidate is one its stage sampled.
        var candidates = events.Where(e => e.Event == "stage_started").ToDictionary(e => (int)e.Data["index"]!, e => (int)e.Data["candidates"]!);
        Assert.All(scores, s => Assert.InRange((int)s["candidate"]!, 0, candidates[(int)s["index"]!] - 1));

        if (events.SingleOrDefault(e => e.Event == "vote").Data is { } vote)
        {
            var winner = events.Single(e => e.Event == "stage_winner").Data;
            Assert.Equal((int)winner["candidate"]!, (int)vote["winner"]!);
            var answers = vote["answers"]!.AsArray();
            Assert.Equal(Enumerable.Range(0, beamSize), answers.SelectMany(a => a!["candidates"]!.AsArray().Select(c => (int)c!)).Order());
            Assert.Contains(answers, a => a!["candidates"]!.AsArray().Any(c => (int)c! == (int)vote["winner"]!));
            var byCandidate = scores.ToDictionary(s => (int)s["candidate"]!, s => (double)s["score"]!);
            foreach (var a in answers)
            {
                var voters = a!["candidates"]!.AsArray().Select(c => (int)c!).ToList();
                // A count, or (weighted) the summed P(correct) of the answer's candidates.
                Assert.Equal(mode == "weighted_best_of_n" ? voters.Sum(c => byCandidate[c]) : voters.Count, (double)a["weight"]!, 9);
            }
            if (mode == "self_consistency")
            {
                // Seed 2 makes a tie: the scorer breaks it, the verifier by scoring the tied candidates, the judge by a comparison.
                Assert.Equal("tie", (string?)vote["decision"]);
                if (runs == "verifier")
                    Assert.Equal(Enumerable.Range(0, beamSize), scores.Select(s => (int)s["candidate"]!));
                else
                    Assert.Single(events, e => e.Event == "judge");
            }
        }

        if (mode == "swires")
        {
            var rounds = events.Where(e => e.Event == "swires_round").Select(e => e.Data).ToList();
            // A round keeps two captions and ranks its reasonings; the answer's caption and reasoning are named as
            // winners with its conclusion, so the winners in their order are the answer.
            Assert.Equal(rounds.Count, events.Count(e => e.Event == "stage_started" && (string?)e.Data["stage"] == "reasoning"));
            Assert.Equal(rounds.Count, events.Count(e => e.Event == "kept"));
            Assert.All(events.Where(e => e.Event == "kept"), k => Assert.Equal(2, k.Data["candidates"]!.AsArray().Count));
            var winners = events.Where(e => e.Event == "stage_winner").Select(e => e.Data).ToList();
            Assert.Equal(["summary", "caption", "reasoning", "conclusion"], winners.Select(w => (string?)w["stage"]));
            Assert.Equal((string)events.Single(e => e.Event == "final").Data["result"]!["text"]!, string.Concat(winners.Select(w => (string)w["text"]!)));
            Assert.Equal([.. Enumerable.Repeat(true, rounds.Count - 1), false], rounds.Select(r => (bool)r["backtrack"]!));
            var card = JsonNode.Parse(await server.Client.GetStringAsync("v1/models"))!["data"]![0]!;
            Assert.All(rounds, r => Assert.Equal((double)card["swires_cutoff"]!, (double)r["cutoff"]!));
            Assert.Equal(3, events.Single(e => e.Event == "stage_started" && (string?)e.Data["stage"] == "conclusion").Data["candidates"]!.GetValue<int>());
        }
    }

    [Fact]
    public async Task Chat_completions_take_the_modes_and_scorers_and_count_scoring_tokens_in_usage()
    {
        var (image, question) = TheQuestion();
        foreach (var (mode, scorer, beamSize) in new[]
                 {
                     ("stage_beam", "verifier", 2), ("best_of_n", "verifier", 2), ("swires", null, 2), ("self_consistency", "verifier", 2),
                     ("weighted_best_of_n", null, 3),
                 })
        {
            var body = new JsonObject
            {
                ["model"] = server.Model.Model.Id,
                ["messages"] = new JsonArray(new JsonObject
                {
                    ["role"] = "user",
                    ["content"] = new JsonArray(
                        new JsonObject { ["type"] = "text", ["text"] = question },
                        new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = "data:image/png;base64," + Convert.ToBase64String(image) } }),
                }),
                ["reasoning_mode"] = mode, ["beam_size"] = beamSize, ["seed"] = Seed,
            };
            if (scorer is not null)
                body["scorer"] = scorer;
            using var response = await server.Client.PostAsync("v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var c = await ServerUnderTest.Json(response);
            var result = c["llavacot"]!["result"]!;
            Assert.Equal((mode, "verifier"), ((string)result["mode"]!, (string)result["scorer"]!));
            Assert.False(string.IsNullOrWhiteSpace((string?)c["choices"]![0]!["message"]!["content"]), mode);
            var usage = c["usage"]!;
            Assert.True((int)usage["llavacot_score_tokens"]! > 0, mode);
            Assert.Equal((int)result["score_tokens"]!, (int)usage["llavacot_score_tokens"]!);
            Assert.Equal(0, (int)usage["llavacot_judge_tokens"]!);
        }
    }

    [Fact]
    public async Task A_verifier_search_moves_the_score_counters_and_the_log_line_by_what_its_result_reports()
    {
        static long Counter(string metrics, string name) =>
            Regex.Match(metrics, $@"(?m)^{name} (\d+)$") is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var before = await server.Client.GetStringAsync("metrics");
        var (image, question) = TheQuestion();
        using var response = await server.Client.PostAsJsonAsync("v1/reason", new
        {
            image = Convert.ToBase64String(image), question, mode = "stage_beam", scorer = "verifier", beam_size = 2, seed = Seed,
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await ServerUnderTest.Json(response);
        var result = body["result"]!;
        var (calls, tokens) = ((int)result["score_calls"]!, (int)result["score_tokens"]!);
        Assert.True(calls > 0 && tokens > 0);
        await server.Settled();
        var after = await server.Client.GetStringAsync("metrics");
        Assert.Equal(calls, Counter(after, "llavacot_score_calls_total") - Counter(before, "llavacot_score_calls_total"));
        Assert.Equal(tokens, Counter(after, "llavacot_score_tokens_total") - Counter(before, "llavacot_score_tokens_total"));
        // The request's log line is written as its response completes, which may be just after the client has it.
        var id = (string)body["request_id"]!;
        bool Logged() => server.Log.Lines.Any(l => l.Contains($"id={id} mode=stage_beam scorer=verifier", StringComparison.Ordinal)
                                                   && l.Contains($"score_calls={calls} score_tokens={tokens}", StringComparison.Ordinal));
        for (var i = 0; i < 500 && !Logged(); i++)
            await Task.Delay(10);
        Assert.True(Logged(), string.Join("\n", server.Log.Lines.Where(l => l.Contains(id, StringComparison.Ordinal))));
    }
}
