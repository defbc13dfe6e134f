using System.Net;
using System.Text.Json.Nodes;

namespace LlavaCot.Server.Tests;

/// <summary>The tiny model served with Quantize=int4.</summary>
public sealed class Int4Server : ServerUnderTest
{
    protected override IEnumerable<string> Settings => [.. base.Settings, "--quantize", "int4"];
}

public class Int4ServerTests(Int4Server server) : IClassFixture<Int4Server>
{
    [Fact]
    public async Task An_int4_server_names_its_weights_in_the_model_card_and_the_log_and_answers()
    {
        var card = JsonNode.Parse(await server.Client.GetStringAsync("v1/models"))!["data"]![0]!;
        Assert.StartsWith("int4: ", (string?)card["weights"]);
        Assert.Contains("output head and token embeddings int8", (string?)card["weights"]);
        var ready = Assert.Single(server.Log.Events, e => e.MessageTemplate.Text.Contains("ready on"));
        Assert.StartsWith("\"int4: ", ready.Properties["Weights"].ToString());
        Assert.Contains(server.Log.Events, e => e.RenderMessage().Contains("int4 linear weights, quantized while loading"));

        using var answer = await server.Client.PostAsync("v1/reason", ServerUnderTest.Form(ServerUnderTest.Image(), "What is this?",
            ("beam_size", "2"), ("max_new_tokens", "4"), ("seed", "1")));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.False(string.IsNullOrEmpty((string?)(await ServerUnderTest.Json(answer))["result"]!["text"]));
    }
}
