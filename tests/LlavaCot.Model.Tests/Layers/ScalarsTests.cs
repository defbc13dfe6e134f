using System.Runtime;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Layers;

/// <summary>The guards against TorchSharp's implicit Scalars being finalized mid-call.</summary>
public class ScalarsTests
{
    [Fact]
    public void Kept_scalars_are_one_object_per_value_and_the_ops_give_the_operators_bits()
    {
        Assert.Same(Scalars.Of(0.5), Scalars.Of(0.5));
        using var scope = NewDisposeScope();
        var a = randn(4, 5);
        var b = randn(4, 5);
        Assert.Equal((a + b).data<float>().ToArray(), a.Plus(b).data<float>().ToArray());
        Assert.Equal((a.clone().add_(b)).data<float>().ToArray(), a.clone().PlusInPlace(b).data<float>().ToArray());
        Assert.Equal((a.clone().add_(0.25)).data<float>().ToArray(), a.clone().PlusInPlace(0.25).data<float>().ToArray());
    }

    [Fact]
    public void Work_in_a_collection_pause_runs_with_the_collector_held_off()
    {
        var mode = CollectionPause.Run(() => GCSettings.LatencyMode);
        Assert.Equal(GCLatencyMode.NoGCRegion, mode);
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }
}
