using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// Scalars kept for the life of the process. TorchSharp frees a Scalar converted implicitly from a number only in its
/// finalizer (no dispose scope tracks it), and its ops do not keep the Scalar alive while the native call reads it: a
/// collection during the call can free it mid-call (then libtorch reads garbage). That includes the alpha of 1 that
/// <c>a + b</c> and <c>add_(s)</c> pass. Model code passes these instead; one per distinct value.
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
