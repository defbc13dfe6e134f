using LlavaCot.Model.Layers;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Runtime.Tests;

public class LoadingTests
{
    private const long GiB = 1L << 30;

    private static HostFacts Memory(long bytes) => new(new HashSet<string>(), bytes);

    [Fact]
    public async Task A_machine_without_room_for_the_weights_is_told_so_before_any_is_read()
    {
        var reads = 0;
        var options = new RuntimeOptions
        {
            ModelDirectory = Fixtures.MllamaTiny, Device = "cpu", Host = () => Memory(GiB), LoadProgress = _ => reads++,
        };
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => ModelHost.LoadAsync(options));
        Assert.Contains("1.0 GiB of memory is available", ex.Message);
        Assert.Contains(Fixtures.MllamaTiny, ex.Message);
        Assert.Equal(0, reads);
        // With room for the weights and the reserve it loads.
        using var host = await ModelHost.LoadAsync(options with { Host = () => Memory(3 * GiB) });
        Assert.True(reads > 0);
    }

    [Fact]
    public void The_refusal_names_what_would_fit()
    {
        // About the 11B: 9.8 B parameters int8 takes, 0.87 B it leaves dense.
        var weights = new WeightFootprint(Dense: 870_000_000, Quantizable: 9_800_000_000);
        var fp32 = MemoryCheck.Refusal("m", weights, ScalarType.Float32, Quantization.None, 30 * GiB)!;
        Assert.Contains("39.7 GiB in float32", fp32);
        Assert.Contains("with DType=bfloat16 they take 19.9 GiB, which fits", fp32);
        Assert.Null(MemoryCheck.Refusal("m", weights, ScalarType.BFloat16, Quantization.None, 30 * GiB));
        var bf16 = MemoryCheck.Refusal("m", weights, ScalarType.BFloat16, Quantization.None, 16 * GiB)!;
        Assert.Contains("with Quantize=int8 they take 10.7 GiB, which fits", bf16);
        Assert.Null(MemoryCheck.Refusal("m", weights, ScalarType.BFloat16, Quantization.Int8, 16 * GiB));
        Assert.Contains("nothing fits", MemoryCheck.Refusal("m", weights, ScalarType.BFloat16, Quantization.Int8, 8 * GiB));
        Assert.Null(MemoryCheck.Refusal("m", weights, ScalarType.BFloat16, Quantization.None, null));
        // The token embeddings: int8 under int4, dense under int8.
        var table = new WeightFootprint(Dense: 0, Quantizable: 0, Table: 1_000_000);
        Assert.Equal(2_000_000, table.Bytes(ScalarType.BFloat16, Quantization.Int8));
        Assert.Equal(1_000_000, table.Bytes(ScalarType.BFloat16, Quantization.Int4));
        // int4: 4.5 bits a quantizable weight.
        Assert.Contains("with Quantize=int4 they take 6.8 GiB, which fits", MemoryCheck.Refusal("m", weights, ScalarType.BFloat16, Quantization.Int8, 9 * GiB));
    }

    [Fact]
    public void Loading_reports_its_progress_through_every_shard_to_the_last_byte()
    {
        var reports = new List<LoadProgress>();
        using var model = Model.MllamaModel.Load(Fixtures.Path("mllama-tiny", "sharded"), progress: reports.Add);
        Assert.Equal(reports[^1].TotalBytes, reports[^1].BytesRead);
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.Second.BytesRead > p.First.BytesRead));
        Assert.Equal([1, 2], reports.Select(r => r.Shard).Distinct().Order());
        Assert.All(reports, r => Assert.Equal(2, r.Shards));

        var lines = new List<string>();
        var reporter = new LoadReporter(lines.Add);
        foreach (var r in reports)
            reporter.Report(r);
        Assert.InRange(lines.Count, 1, 10);
        Assert.StartsWith("loading [####################]", lines[^1]);
        Assert.Matches(@"\d+\.\d/\d+\.\d MB, shard [12]/2, ETA", lines[^1]);
    }

    [Fact]
    public async Task An_int8_host_quantizes_the_text_layers_and_answers()
    {
        using var host = await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = Fixtures.MllamaTiny, Device = "cpu", Quantize = "int8" });
        var linears = host.Model.modules().OfType<Linear>().ToList();
        Assert.Contains(linears, l => l.Format == Quantization.Int8);
        Assert.Contains(linears, l => l.Format == Quantization.None);
        Assert.Equal(Quantization.Int8, host.Model.Quantization);
        var events = new List<Reasoning.Events.ReasonEvent>();
        await foreach (var e in host.Reasoner.ReasonAsync(new Reasoning.ReasonRequest("q", TinyHost.Image(), "What is this",
                           new Reasoning.ReasonOptions { BeamSize = 2, MaxNewTokens = 6, Seed = 1 }), default))
            events.Add(e);
        Assert.IsType<Reasoning.Events.FinalAnswer>(events[^1]);
        Assert.Throws<ArgumentException>(() => new RuntimeOptions { ModelDirectory = "x", Quantize = "int3" }.Quantization);
    }
}
