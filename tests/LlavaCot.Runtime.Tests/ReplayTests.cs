using System.Text.Json.Nodes;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;
using LlavaCot.Tests;

namespace LlavaCot.Runtime.Tests;

/// <summary>What a result depends on besides the request is pinnable and recorded, so a request can be replayed.</summary>
public class ReplayTests(TinyHost tiny) : IClassFixture<TinyHost>
{
    /// <summary>A text-only question: its prompt carries the date.</summary>
    private static async Task<ReasonResult> Answer(Reasoner reasoner, DateOnly? date)
    {
        var request = new ReasonRequest("r", null, "What day is it?", new ReasonOptions { BeamSize = 2, Seed = 8, MaxNewTokens = 6, Date = date });
        ReasonResult? result = null;
        await foreach (var e in reasoner.ReasonAsync(request, default))
        {
            Assert.False(e is ReasonError, (e as ReasonError)?.Cause?.ToString());
            result = (e as FinalAnswer)?.Result ?? result;
        }
        return result!;
    }

    [Fact]
    public async Task A_pinned_date_is_rendered_and_recorded_with_dtype_device_and_cpu_features()
    {
        var jan = await Answer(tiny.Host.Reasoner, new DateOnly(2025, 1, 2));
        var again = await Answer(tiny.Host.Reasoner, new DateOnly(2025, 1, 2));
        var feb = await Answer(tiny.Host.Reasoner, new DateOnly(2025, 2, 3));
        Assert.Equal(new DateOnly(2025, 1, 2), jan.Replay!.Date);
        Assert.Equal("float32", jan.Replay.DType);
        Assert.Equal("cpu", jan.Replay.Device);
        Assert.Equal(HostFacts.Read().CpuFeatures, jan.Replay.CpuFeatures);
        // A text-only question carries the date in its prompt, so the same seed answers the same only on the same date.
        Assert.Equal(jan.Text, again.Text);
        Assert.NotEqual(jan.Text, feb.Text);

        await using var session = await tiny.Host.Generator.OpenSessionAsync(new SessionRequest(null, "q", Date: new DateOnly(2025, 1, 2)), default);
        Assert.Contains("Today Date: 02 Jan 2025", tiny.Host.Generator.Inputs.Tokenizer.Decode(session.PromptIds));
    }

    [Fact]
    public async Task The_server_wide_date_applies_when_a_request_names_none()
    {
        using var host = await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = Fixtures.MllamaTiny, Device = "cpu", Date = new DateOnly(2024, 7, 26) });
        Assert.Equal(new DateOnly(2024, 7, 26), (await Answer(host.Reasoner, null)).Replay!.Date);
        Assert.Equal(new DateOnly(2025, 3, 4), (await Answer(host.Reasoner, new DateOnly(2025, 3, 4))).Replay!.Date);
        var before = DateOnly.FromDateTime(DateTime.Now);
        var today = (await Answer(tiny.Host.Reasoner, null)).Replay!.Date;
        Assert.Contains(today, new[] { before, DateOnly.FromDateTime(DateTime.Now) });
    }

    [Fact]
    public async Task A_folder_whose_chat_template_differs_loads_with_a_warning_naming_the_file()
    {
        using var temp = new TempDir();
        foreach (var file in Directory.GetFiles(Fixtures.MllamaTiny))
            File.Copy(file, temp.File(Path.GetFileName(file)));
        Assert.Empty((await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = temp.Path, Device = "cpu" })).Warnings);
        File.WriteAllText(temp.File("chat_template.json"), new JsonObject { ["chat_template"] = "{{ bos_token }}{{ messages }}" }.ToJsonString());
        using var host = await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = temp.Path, Device = "cpu" });
        var warning = Assert.Single(host.Warnings);
        Assert.Contains(temp.File("chat_template.json"), warning);
    }
}
