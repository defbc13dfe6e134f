using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace LlavaCot.Server.Tests;

/// <summary>A server that fetches image URLs from 127.0.0.1 only, up to 4 KB, within a second; and an image host on loopback.</summary>
public sealed class ImageUrlServer : ServerUnderTest, IAsyncLifetime
{
    public const int MaxBytes = 4096;

    private WebApplication? _images;

    public Uri Images { get; private set; } = null!;

    protected override IEnumerable<string> Settings =>
        [.. base.Settings, "--LlavaCot:ImageUrlHosts=127.0.0.1", $"--LlavaCot:ImageUrlMaxBytes={MaxBytes}", "--LlavaCot:ImageUrlTimeoutSeconds=1"];

    public new async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _images = builder.Build();
        _images.MapGet("/img.png", () => Results.Bytes(Image(), "image/png"));
        _images.MapGet("/big.png", () => Results.Bytes(new byte[MaxBytes + 1], "image/png"));
        _images.MapGet("/streamed-big.png", async (HttpContext http) =>
        {
            // No Content-Length: the limit must hold while reading.
            http.Response.ContentType = "image/png";
            for (var i = 0; i < 8; i++)
                await http.Response.Body.WriteAsync(new byte[1024]);
        });
        _images.MapGet("/slow.png", async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
            return Results.Bytes(Image(), "image/png");
        });
        _images.MapGet("/missing.png", () => Results.NotFound());
        _images.MapGet("/to-img", () => Results.Redirect("/img.png"));
        _images.MapGet("/to-localhost", (HttpContext http) => Results.Redirect($"http://localhost:{http.Connection.LocalPort}/img.png"));
        await _images.StartAsync();
        Images = new Uri(_images.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single() + "/");
        await base.InitializeAsync();
    }

    public new async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_images is not null)
            await _images.DisposeAsync();
    }
}

public class ImageUrlTests(ImageUrlServer server) : IClassFixture<ImageUrlServer>
{
    private async Task<(HttpStatusCode Status, JsonNode Body)> Ask(string url)
    {
        var body = $$$"""
            {"model":"mllama-tiny","messages":[{"role":"user","content":[{"type":"text","text":"Describe"},
              {"type":"image_url","image_url":{"url":"{{{url}}}"}}]}],"max_tokens":4,"seed":1}
            """;
        using var response = await server.Client.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private static string Error(JsonNode problem) =>
        string.Join(" ", problem["errors"]!["messages[0].content[1].image_url.url"]!.AsArray().Select(m => (string?)m));

    [Fact]
    public async Task An_image_from_a_listed_host_is_answered_as_the_same_image_sent_inline()
    {
        var (status, fetched) = await Ask(new Uri(server.Images, "img.png").ToString());
        Assert.Equal(HttpStatusCode.OK, status);
        var (_, inline) = await Ask($"data:image/png;base64,{Convert.ToBase64String(ServerUnderTest.Image())}");
        Assert.Equal((int)inline["usage"]!["prompt_tokens"]!, (int)fetched["usage"]!["prompt_tokens"]!);
        Assert.Equal((string?)inline["llavacot"]!["result"]!["text"], (string?)fetched["llavacot"]!["result"]!["text"]);
        // A redirect that stays on the list is followed.
        var (redirected, _) = await Ask(new Uri(server.Images, "to-img").ToString());
        Assert.Equal(HttpStatusCode.OK, redirected);
    }

    [Theory]
    [InlineData("to-localhost", "'localhost' is not on the image URL allow-list")]
    [InlineData("big.png", "the limit is 4096")]
    [InlineData("streamed-big.png", "larger than the limit of 4096")]
    [InlineData("slow.png", "took longer than 1 s")]
    [InlineData("missing.png", "HTTP 404")]
    public async Task What_cannot_be_fetched_is_a_400_that_says_why(string path, string reason)
    {
        var (status, problem) = await Ask(new Uri(server.Images, path).ToString());
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(reason, Error(problem));
    }

    [Fact]
    public async Task Hosts_off_the_list_are_refused_without_a_request_and_the_error_says_how_to_enable_them()
    {
        // Another loopback address and a name for this one: an IP literal is fetched only when listed as such.
        foreach (var url in new[] { $"http://127.0.0.2:{server.Images.Port}/img.png", $"http://localhost:{server.Images.Port}/img.png", "ftp://127.0.0.1/img.png" })
        {
            var (status, problem) = await Ask(url);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            var error = string.Join(" ", problem["errors"]!.AsObject().SelectMany(e => e.Value!.AsArray().Select(m => (string?)m)));
            Assert.True(error.Contains("ImageUrlHosts", StringComparison.Ordinal) || error.Contains("data:", StringComparison.Ordinal), error);
        }
    }

    [Theory]
    [InlineData("http://images.example.com/a.png", "images.example.com", true)]
    [InlineData("http://IMAGES.example.com./a.png", "images.example.com", true)]
    [InlineData("http://cdn.images.example.com/a.png", "*.example.com", true)]
    [InlineData("http://example.com/a.png", "*.example.com", false)]
    [InlineData("http://evil-example.com/a.png", "*.example.com", false)]
    [InlineData("http://10.0.0.1/a.png", "*.example.com", false)]
    [InlineData("http://10.0.0.1/a.png", "10.0.0.1", true)]
    [InlineData("http://[::1]:8080/a.png", "::1", true)]
    [InlineData("http://[::1]/a.png", "127.0.0.1", false)]
    public void The_allow_list_matches_names_domains_and_only_listed_addresses(string url, string listed, bool allowed) =>
        Assert.Equal(allowed, Api.ImageUrlFetcher.Allowed(new Uri(url), [listed]));
}
