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
    public void The_refusal_names_the_dtype_that_would_fit()
    {
        // The 11B's parameters: 39.7 GiB in fp32, 19.9 GiB in bf16 (each with its reserve).
        const long parameters = 10_670_000_000;
        var fp32 = MemoryCheck.Refusal("m", parameters, ScalarType.Float32, 30 * GiB);
        Assert.Contains("39.7 GiB in float32", fp32);
        Assert.Contains("in bfloat16 they take 19.9 GiB, which fits (DType=bfloat16)", fp32);
        Assert.Null(MemoryCheck.Refusal("m", parameters, ScalarType.BFloat16, 30 * GiB));
        Assert.Contains("no dtype fits", MemoryCheck.Refusal("m", parameters, ScalarType.BFloat16, 16 * GiB));
        Assert.Null(MemoryCheck.Refusal("m", parameters, ScalarType.BFloat16, null));
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
}
