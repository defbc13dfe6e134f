using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Serilog.Events;

namespace LlavaCot.Server.Tests;

/// <summary>A failure inside the server is logged with the request id and the stack; the client learns nothing internal.</summary>
[Collection(nameof(Alone))]
public class FailureTests(ServerUnderTest server) : IClassFixture<ServerUnderTest>
{
    private const string Secret = "secret-detail /srv/models/internal.bin";

    private sealed class InternalFault(string message) : Exception(message);

    private static void AssertGeneric(string body, string requestId)
    {
        Assert.DoesNotContain("secret", body);
        Assert.DoesNotContain("internal.bin", body);
        Assert.DoesNotContain(nameof(InternalFault), body);
        Assert.DoesNotContain("at LlavaCot", body);
        Assert.Contains(requestId, body);
    }

    private void AssertLogged(string requestId)
    {
        var logged = server.Log.Events.Where(e => e.Level == LogEventLevel.Error && e.Exception?.Message == Secret).ToList();
        Assert.Contains(logged, e => e.RenderMessage().Contains(requestId) || e.Properties.TryGetValue("RequestId", out var id) && id.ToString().Contains(requestId));
        Assert.All(logged, e => Assert.Contains("at ", e.Exception!.StackTrace));
    }

    [Fact]
    public async Task A_search_that_fails_answers_500_with_the_request_id_and_a_generic_text_on_every_endpoint()
    {
        server.Gate.FailSampling = new InternalFault(Secret);
        try
        {
            using (var json = await server.Client.PostAsync("v1/reason", ServerUnderTest.Form(ServerUnderTest.Image(), "q", ("max_new_tokens", "4"))))
            {
                Assert.Equal(HttpStatusCode.InternalServerError, json.StatusCode);
                Assert.Equal("application/problem+json", json.Content.Headers.ContentType?.MediaType);
                var id = json.Headers.GetValues("X-Request-Id").Single();
                var body = await json.Content.ReadAsStringAsync();
                AssertGeneric(body, id);
                var problem = JsonNode.Parse(body)!;
                Assert.Equal("Internal server error", (string?)problem["title"]);
                Assert.Equal(id, (string?)problem["request_id"]);
                AssertLogged(id);
            }

            using (var sse = await server.Client.SendAsync(ServerUnderTest.EventStream(ServerUnderTest.Form(ServerUnderTest.Image(), "q", ("max_new_tokens", "4")))))
            {
                var id = sse.Headers.GetValues("X-Request-Id").Single();
                using var reader = new SseReader(await sse.Content.ReadAsStreamAsync());
                var frames = await reader.RestAsync();
                var error = frames.Single(f => f.Event == "error");
                AssertGeneric(error.Data, id);
                AssertLogged(id);
            }

            using (var chat = await server.Client.PostAsJsonAsync("v1/chat/completions", new
            {
                model = "mllama-tiny",
                messages = new[] { new { role = "user", content = "q" } },
                max_tokens = 4,
            }))
            {
                Assert.True(chat.StatusCode == HttpStatusCode.InternalServerError, await chat.Content.ReadAsStringAsync());
                var id = chat.Headers.GetValues("X-Request-Id").Single();
                AssertGeneric(await chat.Content.ReadAsStringAsync(), id);
                AssertLogged(id);
            }
        }
        finally
        {
            server.Gate.FailSampling = null;
        }
        await server.Settled();
    }

    [Fact]
    public async Task An_unexpected_argument_exception_is_a_500_not_a_400()
    {
        server.Gate.FailOpening = new ArgumentException(Secret);
        try
        {
            using var response = await server.Client.PostAsync("v1/reason", ServerUnderTest.Form(ServerUnderTest.Image(), "q", ("max_new_tokens", "4")));
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            var id = response.Headers.GetValues("X-Request-Id").Single();
            AssertGeneric(await response.Content.ReadAsStringAsync(), id);
            Assert.True(server.Log.Events.Any(e => e.Level == LogEventLevel.Error && e.Exception is ArgumentException { Message: Secret }),
                string.Join("\n", server.Log.Lines));
        }
        finally
        {
            server.Gate.FailOpening = null;
        }
        await server.Settled();
        using var next = await server.Client.PostAsync("v1/reason", ServerUnderTest.Form(ServerUnderTest.Image(), "q", ("max_new_tokens", "4")));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }
}
