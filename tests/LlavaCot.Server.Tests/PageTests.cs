using System.Net;
using System.Text.RegularExpressions;

namespace LlavaCot.Server.Tests;

/// <summary>The search page is served by the server itself, and everything it loads comes from the server too.</summary>
public class PageTests(ServerUnderTest server) : IClassFixture<ServerUnderTest>
{
    [Fact]
    public async Task The_root_serves_the_page_and_every_file_it_references()
    {
        using var page = await server.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        var references = Regex.Matches(html, @"(?:src|href)=""([^""]+)""").Select(m => m.Groups[1].Value).Where(r => !r.StartsWith("data:")).ToList();
        Assert.Contains("app.js", references);
        Assert.Contains("app.css", references);
        foreach (var reference in references)
        {
            using var file = await server.Client.GetAsync(reference);
            Assert.True(file.StatusCode == HttpStatusCode.OK, $"{reference}: {file.StatusCode}");
        }
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/app.js")]
    [InlineData("/app.css")]
    public async Task Nothing_is_loaded_from_another_origin(string path)
    {
        var text = await server.Client.GetStringAsync(path);
        Assert.DoesNotMatch(@"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text);
        Assert.DoesNotContain("@import", text);
        Assert.DoesNotContain("@font-face", text);
    }
}
