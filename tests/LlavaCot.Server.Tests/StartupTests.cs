using System.Net;
using System.Text.Json.Nodes;
using LlavaCot.Reasoning;
using LlavaCot.Runtime;
using LlavaCot.Server.Hosting;
using LlavaCot.Tests;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlavaCot.Server.Tests;

public class StartupTests
{
    [Fact]
    public async Task A_missing_model_folder_stops_the_start_with_a_message_naming_it()
    {
        using var temp = new TempDir();
        var missing = temp.File("no-such-model");
        await using var app = LlavaCotServer.Build(["--urls", "http://127.0.0.1:0", "--model", missing]);
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        var failure = Assert.Single(ex.Failures);
        Assert.Contains(missing, failure);
        Assert.Contains("does not exist", failure);
    }

    [Fact]
    public async Task A_folder_without_weights_and_bad_settings_are_all_reported()
    {
        using var temp = new TempDir();
        foreach (var file in new[] { "config.json", "preprocessor_config.json", "manifest.json" })
            File.Copy(Fixtures.Path("mllama-tiny", file), temp.File(file));
        await using var app = LlavaCotServer.Build(["--urls", "http://127.0.0.1:0", "--model", temp.Path, "--device", "tpu",
            "--LlavaCot:MaxConcurrentSearches=0", "--dtype", "int4"]);
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains(ex.Failures, f => f.Contains("no weights"));
        Assert.Contains(ex.Failures, f => f.Contains("Device") && f.Contains("tpu"));
        Assert.Contains(ex.Failures, f => f.Contains("DType") && f.Contains("int4"));
        Assert.Contains(ex.Failures, f => f.Contains("MaxConcurrentSearches"));
    }

    [Fact]
    public async Task With_no_model_configured_the_bundled_demo_model_is_served_described_and_ready_only_once_loaded()
    {
        var loading = new LoadingGate();
        await using var app = LlavaCotServer.Build(["--urls", "http://127.0.0.1:0", "--device", "cpu"], s => s.AddSingleton<IGeneratorDecorator>(loading));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var client = new HttpClient { BaseAddress = new Uri(address + "/") };

        await loading.Reached.WaitAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("health/live")).StatusCode);
        using (var notReady = await client.GetAsync("health/ready"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
            Assert.Equal("application/problem+json", notReady.Content.Headers.ContentType?.MediaType);
        }
        using (var early = await client.PostAsync("v1/reason", ServerUnderTest.Form(null, "Too early?")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, early.StatusCode);
            Assert.NotNull(early.Headers.RetryAfter);
        }
        Assert.Contains("llavacot_model_ready 0", await client.GetStringAsync("metrics"));
        loading.Open();
        await app.Services.GetRequiredService<ModelService>().Loaded;

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("health/ready")).StatusCode);
        var models = JsonNode.Parse(await client.GetStringAsync("v1/models"))!;
        var card = Assert.Single(models["data"]!.AsArray())!;
        var bundled = ModelSettings.Load(BundledModel.Directory);
        Assert.Equal(bundled.Name, (string?)card["id"]);
        Assert.Equal(bundled.Description, (string?)card["description"]);
        Assert.Contains("shapes", (string?)card["description"]);
        using var answer = await client.PostAsync("v1/reason", ServerUnderTest.Form(ServerUnderTest.Image(), "What is this?", ("max_new_tokens", "16"),
            ("mode", "stage_beam")));
        var body = await ServerUnderTest.Json(answer);
        Assert.Equal((string?)card["id"], (string?)body["model"]);
        Assert.Equal(4, body["result"]!["stages"]!.AsArray().Count);
    }

    /// <summary>Holds the model load at the point where the server wires its generator.</summary>
    private sealed class LoadingGate : IGeneratorDecorator
    {
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _open = new();

        public Task Reached => _reached.Task;

        public void Open() => _open.Set();

        public ITextGenerator Decorate(ITextGenerator inner)
        {
            _reached.TrySetResult();
            _open.Wait(TimeSpan.FromMinutes(3));
            return inner;
        }
    }
}
