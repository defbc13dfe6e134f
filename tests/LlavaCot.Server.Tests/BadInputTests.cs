using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace LlavaCot.Server.Tests;

/// <summary>A server with a 64 KiB body limit, so the 413 path is cheap to reach.</summary>
public sealed class SmallBodyServer : ServerUnderTest
{
    public const int Limit = 64 * 1024;

    protected override IEnumerable<string> Settings => [.. base.Settings, $"--LlavaCot:MaxBodyBytes={Limit}"];
}

public class BadInputTests(SmallBodyServer server) : IClassFixture<SmallBodyServer>
{
    private static readonly byte[] Image = ServerUnderTest.Image();

    public static TheoryData<string, string, string> FormCases => new()
    {
        // case, field name in the problem, a form field to set (name=value); "question" is set unless overridden
        { "beam size zero", "beam_size", "beam_size=0" },
        { "beam size 17", "beam_size", "beam_size=17" },
        { "beam size not a number", "beam_size", "beam_size=two" },
        { "empty question", "question", "question=" },
        { "blank question", "question", "question=   " },
        { "question over 8k", "question", "question=" + new string('x', 8193) },
        { "unknown mode", "mode", "mode=tree_search" },
        { "unknown field", "colour", "colour=red" },
        { "top_p zero", "top_p", "top_p=0" },
        { "negative seed", "seed", "seed=-1" },
        { "max tokens over the limit", "max_new_tokens", "max_new_tokens=100000" },
        { "include_tokens not a bool", "include_tokens", "include_tokens=maybe" },
    };

    [Theory]
    [MemberData(nameof(FormCases))]
    public async Task A_bad_form_field_is_a_400_problem_naming_it_and_the_server_goes_on(string name, string field, string set)
    {
        var (key, value) = (set[..set.IndexOf('=')], set[(set.IndexOf('=') + 1)..]);
        var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(Image), "image", "a.png");
        if (key != "question")
            form.Add(new StringContent("What is this?"), "question");
        form.Add(new StringContent(value), key);
        using var response = await server.Client.PostAsync("v1/reason", form);
        var problem = await Problem(response, HttpStatusCode.BadRequest);
        Assert.True(problem["errors"]!.AsObject().ContainsKey(field), $"{name}: {problem}");
        Assert.Contains(field, (string?)problem["detail"]);
        await AssertStillServing();
    }

    public static TheoryData<string, string> JsonCases => new()
    {
        { """{"question":"q","beam_size":"two"}""", "beam_size" },
        { """{"question":"q","beam_size":2.5}""", "beam_size" },
        { """{"question":"q","shade":"blue"}""", "shade" },
        { """{"question":"q","image":"not base64 !!"}""", "image" },
        { """{"question":"q","image":"https://example.com/a.png"}""", "image" },
        { """{"question":"q","image":"data:image/png,abc"}""", "image" },
        { """{"question":"q","mode":"STAGE_BEAM"}""", "mode" },
        { """{"beam_size":2}""", "question" },
        { """{"question":"q",""", "body" },
        { "[1,2]", "body" },
    };

    [Theory]
    [MemberData(nameof(JsonCases))]
    public async Task A_bad_json_body_is_a_400_problem_naming_the_field(string json, string field)
    {
        using var response = await server.Client.PostAsync("v1/reason", new StringContent(json, Encoding.UTF8, "application/json"));
        var problem = await Problem(response, HttpStatusCode.BadRequest);
        Assert.True(problem["errors"]!.AsObject().ContainsKey(field), problem.ToJsonString());
        await AssertStillServing();
    }

    [Theory]
    [InlineData("not an image at all, just text")]
    [InlineData("GIF89a truncated")]
    public async Task Image_bytes_the_processor_cannot_use_are_a_422_with_the_reason(string bytes)
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(Encoding.ASCII.GetBytes(bytes)), "image", "x.png" }, { new StringContent("q"), "question" } };
        using var response = await server.Client.PostAsync("v1/reason", form);
        var problem = await Problem(response, HttpStatusCode.UnprocessableEntity);
        Assert.False(string.IsNullOrWhiteSpace((string?)problem["detail"]));
        await AssertStillServing();
    }

    [Fact]
    public async Task A_truncated_png_is_a_422_too()
    {
        using var response = await server.Client.PostAsJsonAsync("v1/reason", new { question = "q", image = Convert.ToBase64String(Image[..(Image.Length / 2)]) });
        await Problem(response, HttpStatusCode.UnprocessableEntity);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/xml")]
    [InlineData(null)]
    public async Task Other_content_types_are_a_415(string? contentType)
    {
        var content = new ByteArrayContent("question=q"u8.ToArray());
        if (contentType is not null)
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        using var response = await server.Client.PostAsync("v1/reason", content);
        await Problem(response, HttpStatusCode.UnsupportedMediaType);
        await AssertStillServing();
    }

    [Theory]
    [InlineData("application/pdf")]
    [InlineData("text/plain")]
    public async Task An_image_part_that_says_it_is_not_an_image_is_a_415_naming_its_type(string partType)
    {
        var file = new ByteArrayContent("%PDF-1.4"u8.ToArray());
        file.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(partType);
        using var response = await server.Client.PostAsync("v1/reason",
            new MultipartFormDataContent { { file, "image", "notes.pdf" }, { new StringContent("q"), "question" } });
        var problem = await Problem(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Contains($"'{partType}', not an image", (string?)problem["detail"]);
        await AssertStillServing();
    }

    [Fact]
    public async Task An_image_part_typed_as_octet_stream_is_decoded_as_usual()
    {
        var file = new ByteArrayContent(Image);
        file.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        using var response = await server.Client.PostAsync("v1/reason",
            new MultipartFormDataContent { { file, "image", "photo" }, { new StringContent("q"), "question" }, { new StringContent("4"), "max_new_tokens" } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_over_the_limit_is_a_413(bool withLength)
    {
        var big = new byte[SmallBodyServer.Limit + 1000];
        HttpContent file = withLength ? new ByteArrayContent(big) : new StreamContent(new MemoryStream(big));
        var form = new MultipartFormDataContent { { file, "image", "big.png" }, { new StringContent("q"), "question" } };
        if (!withLength)
            form.Headers.ContentLength = null;
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/reason") { Content = withLength ? form : new ChunkedContent(form) };
        // With a known length the server answers before reading the body; curl (and HttpClient here) waits for that via 100-continue.
        request.Headers.ExpectContinue = withLength;
        using var response = await server.Client.SendAsync(request);
        await Problem(response, HttpStatusCode.RequestEntityTooLarge);
        await AssertStillServing();
    }

    [Fact]
    public async Task Unknown_routes_and_methods_answer_problem_json()
    {
        using var missing = await server.Client.GetAsync("v1/nothing-here");
        await Problem(missing, HttpStatusCode.NotFound);
        using var wrongMethod = await server.Client.GetAsync("v1/reason");
        await Problem(wrongMethod, HttpStatusCode.MethodNotAllowed);
    }

    public static TheoryData<string, HttpStatusCode, string?> ChatCases => new()
    {
        { """{"messages":[{"role":"user","content":"hi"}]}""", HttpStatusCode.BadRequest, "model" },
        { """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""", HttpStatusCode.NotFound, null },
        { """{"model":"mllama-tiny","messages":[{"role":"tool","content":"x"},{"role":"user","content":"hi"}]}""", HttpStatusCode.BadRequest, "messages[0].role" },
        { """{"model":"mllama-tiny","messages":[{"role":"user","content":"hi"},{"role":"system","content":"be nice"},{"role":"user","content":"hi"}]}""", HttpStatusCode.BadRequest, "messages[1].role" },
        { """{"model":"mllama-tiny","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}""", HttpStatusCode.BadRequest, "messages[1].role" },
        { """{"model":"mllama-tiny","messages":[{"role":"system","content":"be nice"},{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"text","text":"q"}]}]}""", HttpStatusCode.BadRequest, "messages[0]" },
        { """{"model":"mllama-tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"text","text":"q"}]},{"role":"assistant","content":"a"},{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"text","text":"q"}]}]}""", HttpStatusCode.BadRequest, "messages[2].content[0].image_url" },
        { """{"model":"mllama-tiny","messages":[{"role":"assistant","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},{"role":"user","content":"q"}]}""", HttpStatusCode.BadRequest, "messages[0].content[0]" },
        { """{"model":"mllama-tiny","messages":[{"role":"user","content":"hi"}],"n":5}""", HttpStatusCode.BadRequest, "n" },
        { """{"model":"mllama-tiny","messages":[{"role":"user","content":"hi"}],"n":0}""", HttpStatusCode.BadRequest, "n" },
        { """{"model":"mllama-tiny","messages":[{"role":"user","content":"hi"}],"beam_size":0}""", HttpStatusCode.BadRequest, "beam_size" },
        { """{"model":"mllama-tiny","messages":[{"role":"user","content":"hi"}],"reasoning_mode":"x"}""", HttpStatusCode.BadRequest, "reasoning_mode" },
        { """{"model":"mllama-tiny","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", HttpStatusCode.BadRequest, "temperature" },
        { """{"model":"mllama-tiny","messages":[{"role":"user","content":"hi"}],"user":7}""", HttpStatusCode.BadRequest, "user" },
        { """{"model":"mllama-tiny","messages":[{"role":"user","content":"hi"}],"stop":[1]}""", HttpStatusCode.BadRequest, "stop" },
        { """{"model":"mllama-tiny","messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}""", HttpStatusCode.BadRequest, "stop" },
        { """{"model":"mllama-tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}},{"type":"text","text":"q"}]}]}""", HttpStatusCode.BadRequest, "messages[0].content[0].image_url.url" },
        { """{"model":"mllama-tiny","messages":[{"role":"user","content":[{"type":"audio","audio":{}}]}]}""", HttpStatusCode.BadRequest, "messages[0].content[0].type" },
        { """{"model":"mllama-tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"text","text":"q"}]}]}""", HttpStatusCode.UnprocessableEntity, null },
    };

    [Theory]
    [MemberData(nameof(ChatCases))]
    public async Task Bad_chat_requests_get_problem_json(string json, HttpStatusCode status, string? field)
    {
        using var response = await server.Client.PostAsync("v1/chat/completions", new StringContent(json, Encoding.UTF8, "application/json"));
        var problem = await Problem(response, status);
        if (field is not null)
            Assert.True(problem["errors"]!.AsObject().ContainsKey(field), problem.ToJsonString());
    }

    private async Task<JsonObject> Problem(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {status}, got {response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(text)!.AsObject();
        Assert.Equal((int)status, (int)problem["status"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)problem["title"]));
        Assert.Equal(response.Headers.GetValues("X-Request-Id").Single(), (string?)problem["request_id"]);
        return problem;
    }

    private async Task AssertStillServing()
    {
        using var response = await server.Client.PostAsync("v1/reason", ServerUnderTest.Form(Image, "Still there?", ("max_new_tokens", "3"), ("beam_size", "1")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull((await ServerUnderTest.Json(response))["result"]!["conclusion"]);
    }

    /// <summary>Sends the inner content without a Content-Length, so the server meets the limit while reading.</summary>
    private sealed class ChunkedContent(HttpContent inner) : HttpContent
    {
        public ChunkedContent(MultipartFormDataContent inner, bool _ = true) : this((HttpContent)inner)
        {
            Headers.ContentType = inner.Headers.ContentType;
        }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => inner.CopyToAsync(stream);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
