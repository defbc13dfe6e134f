using LlavaCot.Model;
using LlavaCot.Model.Layers;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Runtime.Tests;

public class DemoModelTests
{
    [Fact]
    public async Task The_demo_model_is_created_once_loads_completely_and_answers()
    {
        using var temp = new TempDir();
        var dir = temp.File(DemoModel.Name);
        Assert.True(DemoModel.EnsureCreated(dir));
        var written = File.GetLastWriteTimeUtc(Path.Combine(dir, "model.safetensors"));
        Assert.False(DemoModel.EnsureCreated(dir));
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(dir, "model.safetensors")));
        Assert.True(DemoModel.IsDemo(dir));
        Assert.Empty(Directory.GetDirectories(temp.Path, ".*"));

        using var host = await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = dir, Device = "cpu" });
        Assert.Empty(host.Model.UnusedWeights);
        Assert.Equal(DemoModel.Name, host.Name);
        var request = new ReasonRequest("demo", TinyHost.Image(), "What is this?", new ReasonOptions { BeamSize = 2, Seed = 3, MaxNewTokens = 24 });
        var events = new List<ReasonEvent>();
        await foreach (var e in host.Reasoner.ReasonAsync(request, default))
            events.Add(e);
        Assert.Equal(4, events.OfType<StageStarted>().Count());
        Assert.IsType<FinalAnswer>(events[^1]);
        Assert.Equal(1, host.Model.Counters.VisionRuns);
    }

    [Fact]
    public void The_weights_on_disk_are_the_seeded_random_weights()
    {
        using var temp = new TempDir();
        var dir = temp.File("demo");
        DemoModel.EnsureCreated(dir);
        using var scope = NewDisposeScope();
        using var loaded = MllamaModel.Load(dir);
        var config = Model.Config.MllamaConfig.Load(dir);
        using var fresh = MllamaModel.Create(config, new RandomWeights(20241122, ScalarType.Float32, CPU), ScalarType.Float32, CPU);
        var expected = fresh.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var actual = loaded.named_parameters().ToList();
        Assert.Equal(expected.Count, actual.Count);
        foreach (var (name, p) in actual)
            TensorAssert.Equal(expected[name], p, name);
    }
}
