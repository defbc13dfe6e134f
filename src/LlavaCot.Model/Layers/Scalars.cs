using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// Scalars kept for the life of the process. TorchSharp frees a Scalar converted implicitly from a number only in its
/// finalizer (no dispose scope tracks it), and its ops do not keep the Scalar alive while the native call reads it: a
/// collection during the call can free it mid-call (then libtorch reads garbage). That includes the alpha of 1 that
/// <c>a + b</c> and <c>add_(s)</c> pass. Model code passes these instead, one per distinct value, for the model's own
/// constants only; a value a request chooses is held in a <c>using</c> for its call instead, so this cache stays small.
/// </summary>
public static class Scalars
{
    private static readonly ConcurrentDictionary<double, Scalar> Kept = new();

    public static Scalar One { get; } = Of(1);

    public static Scalar Of(double value) => Kept.GetOrAdd(value, v => v);

    /// <summary><paramref name="a"/> + <paramref name="b"/>, the same op as the operator, with a kept alpha.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><paramref name="a"/> += <paramref name="b"/> in place, with a kept alpha.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary><paramref name="a"/> += <paramref name="value"/> in place, with kept scalars.</summary>
    public static Tensor PlusInPlace(this Tensor a, double value) => a.add_(Of(value), One);
}

/// <summary>
/// Work run with the garbage collector held off, for TorchSharp code we cannot change (its optimizers and utilities pass
/// implicitly converted Scalars, see <see cref="Scalars"/>): with no collection during the work, no such Scalar is
/// finalized while a native call reads it. One region at a time (callers on other threads wait); past the allocation
/// budget the runtime collects anyway, so the budget is far above what a training step allocates.
/// </summary>
public static class CollectionPause
{
    private const long Budget = 128L << 20;
    private static readonly object Gate = new();

    public static T Run<T>(Func<T> work)
    {
        lock (Gate)
        {
            var held = TryStart();
            try
            {
                return work();
            }
            finally
            {
                if (held && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
                    GC.EndNoGCRegion();
            }
        }
    }

    private static bool TryStart()
    {
        try
        {
            return GC.TryStartNoGCRegion(Budget);
        }
        catch (ArgumentOutOfRangeException)
        {
            // The runtime's ephemeral space is smaller than the budget: run unprotected rather than not at all.
            return false;
        }
    }
}
