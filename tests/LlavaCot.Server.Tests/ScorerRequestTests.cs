using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Runtime;
using LlavaCot.Tests;

namespace LlavaCot.Server.Tests;

/// <summary>The scorer and swires_cutoff fields: refused where they do not apply, with the engine's messages, on every endpoint.</summary>
public class ScorerRequestTests(ServerUnderTest server) : IClassFixture<ServerUnderTest>
{
    private static string Message(ReasonOptions options) =>
        new RequestLimits().Check(new ReasonRequest("x", null, "q", options)).Single().Message;

    public static TheoryData<string, string?, double?, string, string> Refused => new()
    {
        // mode, scorer, swires_cutoff, the field named, its message
        { "sentence_beam", "verifier", null, "scorer", Message(new() { Mode = ReasoningMode.SentenceBeam, Scorer = ScorerKind.Verifier }) },
        { "single", "pairwise", null, "scorer", Message(new() { Mode = ReasoningMode.Single, Scorer = ScorerKind.Pairwise }) },
        { "swires", "pairwise", null, "scorer", Message(new() { Mode = ReasoningMode.Swires, Scorer = ScorerKind.Pairwise }) },
        { "stage_beam", "judge", null, "scorer", Scorers.Unknown("judge") },
        { "swires", null, 1.5, "swires_cutoff", Message(new() { Mode = ReasoningMode.Swires, SwiresCutoff = 1.5 }) },
        { "stage_beam", null, 0.5, "swires_cutoff", Message(new() { SwiresCutoff = 0.5 }) },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_scorer_or_cutoff_that_does_not_apply_is_a_400_naming_it_on_both_endpoints(string mode, string? scorer, double? cutoff,
        string field, string message)
    {
        var form = ServerUnderTest.Form(null, "q", [("mode", mode), .. scorer is null ? [] : new[] { ("scorer", scorer) },
            .. cutoff is null ? [] : new[] { ("swires_cutoff", cutoff.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)) }]);
        var json = new JsonObject { ["question"] = "q", ["mode"] = mode, ["scorer"] = scorer, ["swires_cutoff"] = cutoff };
        var chat = new JsonObject
        {
            ["model"] = "mllama-tiny", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "q" }),
            ["reasoning_mode"] = mode, ["scorer"] = scorer, ["swires_cutoff"] = cutoff,
        };
        foreach (var response in new[]
                 {
                     await server.Client.PostAsync("v1/reason", form), await Post("v1/reason", json), await Post("v1/chat/completions", chat),
                 })
        {
            using (response)
            {
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                var errors = (await ServerUnderTest.Json(response))["errors"]!.AsObject();
                Assert.Equal([field], errors.Select(e => e.Key));
                Assert.Equal(message, (string?)errors[field]![0]);
            }
        }
    }

    private Task<HttpResponseMessage> Post(string path, JsonObject body)
    {
        // An absent field is left out, not sent as null.
        foreach (var key in body.Where(p => p.Value is null).Select(p => p.Key).ToList())
            body.Remove(key);
        return server.Client.PostAsync(path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
    }

    [Fact]
    public async Task A_wrong_type_is_named_and_an_unknown_mode_is_reported_without_the_fields_that_depend_on_it()
    {
        var chatMessages = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "q" });
        foreach (var (path, body, field) in new[]
                 {
                     ("v1/reason", new JsonObject { ["question"] = "q", ["scorer"] = 3 }, "scorer"),
                     ("v1/reason", new JsonObject { ["question"] = "q", ["mode"] = "swires", ["swires_cutoff"] = "high" }, "swires_cutoff"),
                     ("v1/chat/completions", new JsonObject { ["model"] = "mllama-tiny", ["messages"] = chatMessages.DeepClone(), ["scorer"] = true }, "scorer"),
                     ("v1/chat/completions", new JsonObject { ["model"] = "mllama-tiny", ["messages"] = chatMessages.DeepClone(), ["swires_cutoff"] = "0.5" }, "swires_cutoff"),
                     ("v1/chat/completions", new JsonObject { ["model"] = "mllama-tiny", ["messages"] = chatMessages.DeepClone(), ["reasoning_mode"] = "tree", ["scorer"] = "verifier" }, "reasoning_mode"),
                 })
        {
            using var response = await Post(path, body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal([field], (await ServerUnderTest.Json(response))["errors"]!.AsObject().Select(e => e.Key));
        }
        using var form = await server.Client.PostAsync("v1/reason", ServerUnderTest.Form(null, "q", ("mode", "swires"), ("swires_cutoff", "high")));
        Assert.Equal("'high' is not a number", (string?)(await ServerUnderTest.Json(form))["errors"]!["swires_cutoff"]![0]);
    }

    /// <summary>Greedy candidates are the same tokens: whether they are compared depends on SkipIdenticalCandidates.</summary>
    internal static async Task<List<string>> GreedyJudgeDecisions(ServerUnderTest server)
    {
        using var response = await server.Client.SendAsync(ServerUnderTest.EventStream(ServerUnderTest.Form(ServerUnderTest.Image(), "q",
            ("beam_size", "2"), ("temperature", "0"), ("max_new_tokens", "3"))));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        var frames = await reader.RestAsync();
        Assert.Contains(frames, f => f.Event == "final");
        return frames.Where(f => f.Event == "judge").Select(f => (string)JsonNode.Parse(f.Data)!["decision"]!).ToList();
    }

    [Fact]
    public async Task By_default_identical_candidates_are_not_compared()
    {
        var decisions = await GreedyJudgeDecisions(server);
        Assert.Equal(4, decisions.Count);
        Assert.All(decisions, d => Assert.Equal("identical", d));
    }
}

/// <summary>
/// The tiny model from a folder whose llavacot.json sets swires_cutoff, served with SkipIdenticalCandidates off.
/// </summary>
public sealed class FolderSettingsServer : ServerUnderTest, IDisposable
{
    public const double FolderCutoff = 0.25;

    private readonly TempDir _folder = CopyOfTiny(new JsonObject { ["swires_cutoff"] = FolderCutoff });

    protected override IEnumerable<string> ModelArgs => ["--model", _folder.Path];

    protected override IEnumerable<string> Settings => [.. base.Settings, "--LlavaCot:SkipIdenticalCandidates=false"];

    /// <summary>A copy of the tiny fixture's files with <paramref name="settings"/> as its llavacot.json.</summary>
    public static TempDir CopyOfTiny(JsonObject settings)
    {
        var temp = new TempDir();
        foreach (var file in Directory.GetFiles(Fixtures.MllamaTiny))
            File.Copy(file, temp.File(Path.GetFileName(file)));
        File.WriteAllText(temp.File(ModelSettings.FileName), settings.ToJsonString());
        return temp;
    }

    public void Dispose() => _folder.Dispose();
}

public class FolderSettingsTests(FolderSettingsServer server) : IClassFixture<FolderSettingsServer>
{
    private async Task<List<double>> Cutoffs(double? requested)
    {
        var body = new JsonObject { ["question"] = "q", ["mode"] = "swires", ["max_new_tokens"] = 3, ["seed"] = 1 };
        if (requested is { } c)
            body["swires_cutoff"] = c;
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/reason")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
            Headers = { Accept = { new System.Net.Http.Headers.MediaTypeWithQualityHeaderValue("text/event-stream") } },
        };
        using var response = await server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        var rounds = (await reader.RestAsync()).Where(f => f.Event == "swires_round").Select(f => JsonNode.Parse(f.Data)!).ToList();
        Assert.NotEmpty(rounds);
        return rounds.Select(r => (double)r["cutoff"]!).ToList();
    }

    [Fact]
    public async Task The_folders_swires_cutoff_is_shown_by_the_model_card_and_used_unless_a_request_names_its_own()
    {
        var card = JsonNode.Parse(await server.Client.GetStringAsync("v1/models"))!["data"]![0]!;
        Assert.Equal(FolderSettingsServer.FolderCutoff, (double)card["swires_cutoff"]!);
        Assert.All(await Cutoffs(null), c => Assert.Equal(FolderSettingsServer.FolderCutoff, c));
        Assert.All(await Cutoffs(0.9), c => Assert.Equal(0.9, c));
    }

    [Fact]
    public async Task With_SkipIdenticalCandidates_off_identical_candidates_are_compared_as_the_reference_does()
    {
        // The random model writes no tags: every comparison is then decided by the missing tags, never by identity.
        var decisions = await ScorerRequestTests.GreedyJudgeDecisions(server);
        Assert.Equal(4, decisions.Count);
        Assert.All(decisions, d => Assert.Equal("missing_tags", d));
    }

    [Fact]
    public async Task A_bad_swires_cutoff_in_llavacot_json_stops_the_server_naming_the_file_and_the_key()
    {
        using var folder = FolderSettingsServer.CopyOfTiny(new JsonObject { ["swires_cutoff"] = 1.5 });
        var (code, output) = await Processes.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "LlavaCot.Server.dll"),
            "--urls", "http://127.0.0.1:0", "--model", folder.Path, "--device", "cpu"], TimeSpan.FromMinutes(2));
        Assert.Equal(1, code);
        Assert.Contains(ModelSettings.FileName, output);
        Assert.Contains("swires_cutoff has an unusable value, 1.5; it must be a number in 0..1", output);
    }
}

/// <summary>The tiny model in a folder whose llavacot.json sets a default mode and scorer.</summary>
public sealed class DefaultModeServer : ServerUnderTest
{
    private readonly TempDir _folder = new();

    public DefaultModeServer()
    {
        foreach (var file in Directory.GetFiles(Fixtures.MllamaTiny))
            File.Copy(file, _folder.File(Path.GetFileName(file)));
        File.WriteAllText(_folder.File(ModelSettings.FileName), """{"name": "mllama-tiny", "default_mode": "best_of_n", "default_scorer": "verifier"}""");
    }

    protected override IEnumerable<string> ModelArgs => ["--model", _folder.Path];

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _folder.Dispose();
    }
}

/// <summary>A request that names no mode runs the model's default mode and scorer; one naming a mode gets that mode's own default.</summary>
public class ModelDefaultTests(DefaultModeServer server) : IClassFixture<DefaultModeServer>
{
    [Theory]
    [InlineData(null, null, "best_of_n", "verifier")]
    [InlineData(null, "pairwise", "best_of_n", "pairwise")]
    [InlineData("stage_beam", null, "stage_beam", "pairwise")]
    public async Task The_models_defaults_apply_where_the_request_is_silent(string? mode, string? scorer, string runs, string scoredBy)
    {
        (string, string)[] fields = [("max_new_tokens", "4"), ("beam_size", "2"), .. mode is null ? [] : new[] { ("mode", mode) },
            .. scorer is null ? [] : new[] { ("scorer", scorer) }];
        using var response = await server.Client.PostAsync("v1/reason", ServerUnderTest.Form(ServerUnderTest.Image(), "What is this?", fields));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = (await ServerUnderTest.Json(response))["result"]!;
        Assert.Equal((runs, scoredBy), ((string?)result["mode"], (string?)result["scorer"]));

        var chat = new JsonObject
        {
            ["model"] = "mllama-tiny", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "q" }), ["max_tokens"] = 4,
            ["beam_size"] = 2, ["reasoning_mode"] = mode, ["scorer"] = scorer,
        };
        foreach (var key in chat.Where(p => p.Value is null).Select(p => p.Key).ToList())
            chat.Remove(key);
        using var completion = await server.Client.PostAsync("v1/chat/completions", new StringContent(chat.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
    }
}
