using System.Net;
using System.Text.Json.Nodes;

namespace LlavaCot.Server.Tests;

/// <summary>Its own server, so its image cache and metrics hold only this class's requests.</summary>
public sealed class ImageCacheServer : ServerUnderTest;

public class ImageCacheTests(ImageCacheServer server) : IClassFixture<ImageCacheServer>
{
    /// <summary>The cost summary of a short stage search (N=2) on <paramref name="server"/>.</summary>
    internal static async Task<JsonNode> Cost(ServerUnderTest server, string image, string question)
    {
        using var response = await server.Client.PostAsync("v1/reason",
            ServerUnderTest.Form(ServerUnderTest.Image(image), question, ("max_new_tokens", "4"), ("beam_size", "2"), ("seed", "3")));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        return JsonNode.Parse(text)!["result"]!["cost"]!;
    }

    private Task<JsonNode> Cost(string image, string question) => Cost(server, image, question);

    [Fact]
    public async Task A_second_question_about_an_image_skips_the_vision_tower_and_says_so_in_its_cost_and_the_metrics()
    {
        var first = await Cost("img0_50x30_rgb.png", "What is this?");
        var second = await Cost("img0_50x30_rgb.png", "And what colour is it?");
        var other = await Cost("img2_96x96_rgb.png", "What is this?");
        Assert.Equal((1, 0, 1), ((int)first["vision_passes"]!, (int)first["image_cache_hits"]!, (int)first["image_cache_misses"]!));
        Assert.Equal((0, 1, 0), ((int)second["vision_passes"]!, (int)second["image_cache_hits"]!, (int)second["image_cache_misses"]!));
        Assert.Equal((1, 0), ((int)other["vision_passes"]!, (int)other["image_cache_hits"]!));

        var metrics = await server.Client.GetStringAsync("metrics");
        Assert.Contains("llavacot_image_cache_hits_total 1\n", metrics);
        Assert.Contains("llavacot_image_cache_misses_total 2\n", metrics);
        Assert.Contains("llavacot_image_cache_evictions_total 0\n", metrics);
        Assert.Contains("llavacot_model_vision_runs_total 2\n", metrics);
        Assert.Matches(@"llavacot_image_cache_bytes [1-9]\d*\n", metrics);
    }
}

/// <summary>Its own server, so its prefix cache and metrics hold only this class's requests.</summary>
public sealed class PrefixCacheServer : ServerUnderTest;

public class PrefixCacheTests(PrefixCacheServer server) : IClassFixture<PrefixCacheServer>
{
    private Task<JsonNode> Cost(string image, string question) => ImageCacheTests.Cost(server, image, question);

    [Fact]
    public async Task A_retried_request_reuses_its_cached_prompt_and_the_cost_and_metrics_say_so()
    {
        var first = await Cost("img4_17x130_rgb.png", "Is it tall?");
        var retry = await Cost("img4_17x130_rgb.png", "Is it tall?");
        Assert.True((int)first["prefix_cache_misses"]! >= 1);
        Assert.Equal(0, (int)retry["prefix_cache_misses"]!);
        Assert.True((int)retry["prefix_cache_hits"]! >= 1);
        Assert.True((int)retry["prefilled_tokens"]! < (int)first["prefilled_tokens"]!);

        var metrics = await server.Client.GetStringAsync("metrics");
        Assert.Matches(@"llavacot_prefix_cache_hits_total [1-9]\d*\n", metrics);
        Assert.Matches(@"llavacot_prefix_cache_bytes [1-9]\d*\n", metrics);
        Assert.Matches(@"llavacot_prefix_cache_budget_bytes [1-9]\d*\n", metrics);
    }
}
