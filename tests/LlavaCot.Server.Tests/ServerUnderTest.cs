using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using System.Text.Json.Nodes;
using LlavaCot.Server.Hosting;
using LlavaCot.Tests;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace LlavaCot.Server.Tests;

/// <summary>The real server on Kestrel at a free loopback port, serving the tiny fixture model behind a <see cref="ModelGate"/>.</summary>
public class ServerUnderTest : IAsyncLifetime
{
    private WebApplication? _app;

    public ModelGate Gate { get; } = new();

    /// <summary>Every log event the server wrote.</summary>
    public LogCapture Log { get; } = new();
    public HttpClient Client { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;
    public ModelService Model => _app!.Services.GetRequiredService<ModelService>();
    public Admission Admission => _app!.Services.GetRequiredService<Admission>();

    /// <summary>The model switches: the tiny fixture unless a subclass serves another (none: the bundled demo).</summary>
    protected virtual IEnumerable<string> ModelArgs => ["--model", Fixtures.MllamaTiny];

    /// <summary>Settings beyond the model and the address (LlavaCot:Key=value pairs).</summary>
    protected virtual IEnumerable<string> Settings => ["--LlavaCot:MaxConcurrentSearches=1", "--LlavaCot:QueueLength=4"];

    public static byte[] Image(string name = "img0_50x30_rgb.png") => File.ReadAllBytes(Fixtures.Path("mllama-tiny", "images", name));

    public async Task InitializeAsync()
    {
        string[] args = ["--urls", "http://127.0.0.1:0", .. ModelArgs, "--device", "cpu", "--LlavaCot:LogFormat=text", .. Settings];
        _app = LlavaCotServer.Build(args, s =>
        {
            s.AddSingleton<IGeneratorDecorator>(Gate);
            s.AddSingleton<Serilog.Core.ILogEventSink>(Log);
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        BaseAddress = new Uri(address + "/");
        // Generous: a busy CI machine may be slow; a test that truly hangs still ends with a clear failure.
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        await Model.Loaded;
    }

    /// <summary>Stops the server (a test may stop it early to kill a replica; a second call does nothing).</summary>
    public virtual async Task DisposeAsync()
    {
        Client?.Dispose();
        if (Interlocked.Exchange(ref _app, null) is { } app)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public static MultipartFormDataContent Form(byte[]? image, string question, params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent();
        if (image is not null)
        {
            var file = new ByteArrayContent(image);
            file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            form.Add(file, "image", "photo.png");
        }
        form.Add(new StringContent(question), "question");
        foreach (var (name, value) in fields)
            form.Add(new StringContent(value), name);
        return form;
    }

    public static HttpRequestMessage EventStream(HttpContent content) => new(HttpMethod.Post, "v1/reason")
    {
        Content = content,
        Headers = { Accept = { new MediaTypeWithQualityHeaderValue("text/event-stream") } },
    };

    /// <summary>
    /// Waits for the server to finish a request's clean-up, which runs just after the client has its response
    /// (the search and its queue place are released when the response completes).
    /// </summary>
    public async Task Settled()
    {
        // A condition that must come true, checked until it does (the bound only turns a hang into a failure).
        for (var i = 0; i < 12_000 && (Admission.Running + Admission.Waiting > 0 || Gate.OpenSessions > 0); i++)
            await Task.Delay(10);
        Assert.Equal(0, Admission.Running + Admission.Waiting);
        Assert.Equal(0, Gate.OpenSessions);
    }

    public static async Task<JsonObject> Json(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
}
