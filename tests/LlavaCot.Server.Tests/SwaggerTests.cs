using System.Text.Json.Nodes;

namespace LlavaCot.Server.Tests;

public class SwaggerTests(ServerUnderTest server) : IClassFixture<ServerUnderTest>
{
    private async Task<JsonNode> Document() => JsonNode.Parse(await server.Client.GetStringAsync("swagger/v1/swagger.json"))!;

    private static IEnumerable<string> Values(JsonNode property) => property["enum"]!.AsArray().Select(n => (string)n!);

    private static JsonNode Resolve(JsonNode doc, JsonNode schema) =>
        schema["$ref"] is { } r ? doc["components"]!["schemas"]![((string)r!).Split('/')[^1]]! : schema;

    [Fact]
    public async Task Every_endpoint_is_documented_with_its_schemas_and_examples()
    {
        var doc = await Document();
        var paths = doc["paths"]!.AsObject();
        var operations = paths.SelectMany(p => p.Value!.AsObject().Select(m => $"{m.Key.ToUpperInvariant()} {p.Key}")).Order().ToList();
        Assert.Equal(new[]
        {
            "GET /health/live", "GET /health/ready", "GET /metrics", "GET /v1/models", "POST /v1/chat/completions", "POST /v1/reason",
        }, operations);
        foreach (var (path, item) in paths)
        {
            foreach (var (_, op) in item!.AsObject())
            {
                Assert.False(string.IsNullOrWhiteSpace((string?)op!["summary"]), path);
                Assert.NotNull(op["responses"]!["200"]);
            }
        }

        var reason = paths["/v1/reason"]!["post"]!;
        var form = reason["requestBody"]!["content"]!["multipart/form-data"]!;
        var image = form["schema"]!["properties"]!["image"]!;
        Assert.Equal("string", (string?)image["type"]);
        Assert.Equal("binary", (string?)image["format"]);
        Assert.Contains("question", form["schema"]!["required"]!.AsArray().Select(n => (string?)n));
        var modes = LlavaCot.Reasoning.ReasoningModes.ByName.Keys;
        var scorers = LlavaCot.Reasoning.Scoring.Scorers.ByName.Keys;
        Assert.Equal(modes, Values(form["schema"]!["properties"]!["mode"]!));
        Assert.Equal(scorers, Values(form["schema"]!["properties"]!["scorer"]!));
        Assert.Equal("number", (string?)form["schema"]!["properties"]!["swires_cutoff"]!["type"]);
        // Swagger UI prefills form fields from these; without them it would send beam_size=0.
        Assert.Equal(2, (int)form["schema"]!["properties"]!["beam_size"]!["example"]!);
        Assert.NotNull(form["example"]);
        var json = reason["requestBody"]!["content"]!["application/json"]!;
        Assert.NotNull(Resolve(doc, json["schema"]!)["properties"]!["beam_size"]);
        Assert.Equal(modes, Values(Resolve(doc, json["schema"]!)["properties"]!["mode"]!));
        Assert.Equal(scorers, Values(Resolve(doc, json["schema"]!)["properties"]!["scorer"]!));
        Assert.NotNull(Resolve(doc, json["schema"]!)["properties"]!["swires_cutoff"]);
        Assert.NotNull(json["example"]!["question"]);
        var ok = reason["responses"]!["200"]!["content"]!;
        Assert.NotNull(Resolve(doc, ok["application/json"]!["schema"]!)["properties"]!["result"]);
        Assert.NotNull(ok["application/json"]!["example"]!["result"]);
        // Every event of the stream has its schema, the scorers' and the modes' included.
        var events = ok["text/event-stream"]!["schema"]!["oneOf"]!.AsArray().Select(s => ((string)s!["$ref"]!).Split('/')[^1]).ToList();
        Assert.Equal(12, events.Count);
        Assert.Contains("StageKept", events);
        Assert.Contains("CandidateScored", events);
        Assert.Contains("VoteCounted", events);
        Assert.Contains("SwiresRound", events);
        foreach (var status in new[] { "400", "413", "415", "422", "429", "503" })
            Assert.NotNull(reason["responses"]![status]);

        var chat = paths["/v1/chat/completions"]!["post"]!;
        var chatRequest = Resolve(doc, chat["requestBody"]!["content"]!["application/json"]!["schema"]!);
        Assert.NotNull(chatRequest["properties"]!["messages"]);
        Assert.Equal(modes, Values(chatRequest["properties"]!["reasoning_mode"]!));
        Assert.Equal(scorers, Values(chatRequest["properties"]!["scorer"]!));
        Assert.NotNull(Resolve(doc, chat["responses"]!["200"]!["content"]!["application/json"]!["schema"]!)["properties"]!["choices"]);
        Assert.NotNull(Resolve(doc, chat["responses"]!["200"]!["content"]!["text/event-stream"]!["schema"]!)["properties"]!["delta"] ??
                       Resolve(doc, chat["responses"]!["200"]!["content"]!["text/event-stream"]!["schema"]!)["properties"]!["choices"]);

        var schemas = doc["components"]!["schemas"]!.AsObject().Select(p => p.Key).ToHashSet();
        foreach (var name in new[] { "ReasonJsonRequest", "ReasonResponse", "ReasonResult", "StageResult", "StageVerdict", "ChatCompletionRequest",
                     "ChatCompletion", "ChatCompletionChunk", "ModelList", "ModelCard", "HealthStatus", "ProblemDetails", "HttpValidationProblemDetails",
                     "StageStarted", "JudgeComparison", "FinalAnswer", "CandidateScored", "VoteCounted", "VoteTally", "SwiresRound", "RankedCandidate" })
            Assert.Contains(name, schemas);
        // The wire uses snake_case; the document must agree.
        Assert.NotNull(doc["components"]!["schemas"]!["ReasonResult"]!["properties"]!["generated_tokens"]);
        Assert.NotNull(doc["components"]!["schemas"]!["ReasonResult"]!["properties"]!["score_tokens"]);
        Assert.NotNull(doc["components"]!["schemas"]!["SwiresRound"]!["properties"]!["second_best"]);
        Assert.NotNull(doc["components"]!["schemas"]!["ChatUsage"]!["properties"]!["llavacot_score_tokens"]);
        Assert.NotNull(doc["components"]!["schemas"]!["ModelCard"]!["properties"]!["swires_cutoff"]);
    }

    [Fact]
    public async Task The_swagger_ui_page_is_served()
    {
        var html = await server.Client.GetStringAsync("swagger/index.html");
        Assert.Contains("swagger-ui", html);
        using var bundle = await server.Client.GetAsync("swagger/swagger-ui-bundle.js");
        Assert.True(bundle.IsSuccessStatusCode);
    }
}
