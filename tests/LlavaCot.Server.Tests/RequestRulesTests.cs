using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using LlavaCot.Reasoning;

namespace LlavaCot.Server.Tests;

/// <summary>What every endpoint shares: one set of request limits and messages, text-only questions, the replay record.</summary>
public class RequestRulesTests(ServerUnderTest server) : IClassFixture<ServerUnderTest>
{
    private static ReasonRequest Asking(int beamSize, double temperature, int maxNewTokens) => new("x", null, "q", new ReasonOptions
    {
        BeamSize = beamSize, MaxNewTokens = maxNewTokens, Sampling = SamplingOptions.Default with { Temperature = temperature },
    });

    [Fact]
    public async Task Out_of_range_options_get_the_engines_own_messages_on_both_endpoints()
    {
        var expected = new RequestLimits().Check(Asking(40, 3, 100_000)).ToDictionary(e => e.Field, e => e.Message);
        Assert.Equal(["beam_size", "temperature", "max_new_tokens"], expected.Keys);
        // The OpenAI endpoint's max_tokens is the whole answer's budget: only 0 or less is out of range.
        var answer = new RequestLimits().Check(Asking(40, 3, 16) with { Options = Asking(40, 3, 16).Options with { MaxAnswerTokens = 0 } })
            .Single(e => e.Field == "max_answer_tokens").Message;

        using var form = await server.Client.PostAsync("v1/reason", ServerUnderTest.Form(null, "q",
            ("beam_size", "40"), ("temperature", "3"), ("max_new_tokens", "100000")));
        using var json = await server.Client.PostAsJsonAsync("v1/reason", new { question = "q", beam_size = 40, temperature = 3, max_new_tokens = 100_000 });
        using var chat = await server.Client.PostAsJsonAsync("v1/chat/completions", new
        {
            model = "mllama-tiny", messages = new[] { new { role = "user", content = "q" } }, beam_size = 40, temperature = 3, max_tokens = 0,
        });
        foreach (var (response, names, message) in new[] { (form, "max_new_tokens", expected["max_new_tokens"]), (json, "max_new_tokens", expected["max_new_tokens"]), (chat, "max_tokens", answer) })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var errors = (await ServerUnderTest.Json(response))["errors"]!.AsObject();
            Assert.Equal(expected["beam_size"], (string?)errors["beam_size"]![0]);
            Assert.Equal(expected["temperature"], (string?)errors["temperature"]![0]);
            Assert.Equal(message, (string?)errors[names]![0]);
        }
    }

    [Fact]
    public async Task A_question_without_an_image_is_answered_on_both_endpoints()
    {
        using var reason = await server.Client.PostAsync("v1/reason", ServerUnderTest.Form(null, "What day is it?", ("max_new_tokens", "4"), ("seed", "2")));
        Assert.Equal(HttpStatusCode.OK, reason.StatusCode);
        var result = (await ServerUnderTest.Json(reason))["result"]!;
        Assert.Equal(4, result["stages"]!.AsArray().Count);
        using var chat = await server.Client.PostAsJsonAsync("v1/chat/completions", new
        {
            model = "mllama-tiny", messages = new[] { new { role = "user", content = "What day is it?" } }, max_tokens = 4,
        });
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
    }

    [Fact]
    public async Task A_pinned_date_is_used_and_recorded_for_replay_and_a_bad_one_is_named()
    {
        async Task<JsonNode> Ask(string date)
        {
            using var response = await server.Client.PostAsJsonAsync("v1/reason", new { question = "What day is it?", max_new_tokens = 5, seed = 3, date });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await ServerUnderTest.Json(response))["result"]!;
        }
        var first = await Ask("2025-01-02");
        var replay = first["replay"]!;
        Assert.Equal("2025-01-02", (string?)replay["date"]);
        Assert.Equal("float32", (string?)replay["dtype"]);
        Assert.Equal("cpu", (string?)replay["device"]);
        Assert.False(string.IsNullOrEmpty((string?)replay["cpu_features"]));
        // Same seed, same date: the same answer; the date is part of a text-only prompt.
        Assert.Equal((string?)first["text"], (string?)(await Ask("2025-01-02"))["text"]);
        Assert.NotEqual((string?)first["text"], (string?)(await Ask("2025-03-04"))["text"]);

        using var bad = await server.Client.PostAsync("v1/reason", ServerUnderTest.Form(null, "q", ("date", "02/01/2025")));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("YYYY-MM-DD", (string?)(await ServerUnderTest.Json(bad))["errors"]!["date"]![0]);
    }

    [Fact]
    public async Task The_model_card_says_which_dtype_runs_and_why_and_the_log_names_the_cpu_features()
    {
        var card = JsonNode.Parse(await server.Client.GetStringAsync("v1/models"))!["data"]![0]!;
        Assert.Equal("float32", (string?)card["dtype"]);
        Assert.Contains("small model", (string?)card["dtype_reason"]);
        Assert.Equal("cpu", (string?)card["device"]);
        Assert.StartsWith("dense: ", (string?)card["weights"]);
        var ready = Assert.Single(server.Log.Events, e => e.MessageTemplate.Text.Contains("ready on"));
        Assert.Equal("\"float32\"", ready.Properties["DType"].ToString());
        Assert.Contains("small model", ready.Properties["DTypeReason"].ToString());
        Assert.Equal($"\"{LlavaCot.Runtime.HostFacts.Read().CpuFeatures}\"", ready.Properties["CpuFeatures"].ToString());
    }
}
