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
    public void A_folder_that_is_not_ours_is_never_touched()
    {
        using var temp = new TempDir();
        var dir = temp.File("checkpoint");
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        var bytes = Enumerable.Range(0, 4096).Select(i => (byte)(i * 31)).ToArray();
        File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), bytes);
        File.WriteAllText(Path.Combine(dir, "sub", "notes.txt"), "mine");

        var ex = Assert.Throws<DemoModelException>(() => DemoModel.EnsureCreated(dir));
        Assert.Contains(dir, ex.Message);
        Assert.Contains(DemoModel.MarkerFile, ex.Message);
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(dir, "sub", "notes.txt")));
        Assert.Equal(3, Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).Count());
        Assert.Equal([dir], Directory.GetFileSystemEntries(temp.Path));

        var file = temp.File("a-file");
        File.WriteAllText(file, "x");
        Assert.Throws<DemoModelException>(() => DemoModel.EnsureCreated(file));
        Assert.Equal("x", File.ReadAllText(file));
    }

    [Fact]
    public void An_older_demo_folder_and_an_empty_folder_are_replaced()
    {
        using var temp = new TempDir();
        var old = temp.File("old");
        DemoModel.EnsureCreated(old);
        File.WriteAllText(Path.Combine(old, DemoModel.MarkerFile), "{\"version\": 0}");
        Assert.True(DemoModel.EnsureCreated(old));
        Assert.False(DemoModel.EnsureCreated(old));

        var empty = temp.File("empty");
        Directory.CreateDirectory(empty);
        Assert.True(DemoModel.EnsureCreated(empty));
        Assert.True(DemoModel.IsDemo(empty));
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
