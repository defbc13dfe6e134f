using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// y = (x Wᵀ) · scale (+ b) for a few rows of x against int8 weights with per-output-channel scales, on the CPU:
/// decode steps, where reading the weights is the work and int8 reads half the bytes of bf16. Each weight row is read
/// once for all rows of x; its int8 values are widened to fp32 and accumulated in fp32, every row of x by the same
/// code in the same order, so a sequence's results do not depend on what shares its batch.
/// </summary>
public static unsafe class Int8Gemv
{
    private const int Lanes = 8;

    // One step of the inner loop: four loads of 8 int8.
    private const int Block = 32;

    /// <summary>Most rows taken (a decode step's batch); longer inputs dequantize and use libtorch's GEMM.</summary>
    public const int MaxRows = DecodeScope.MaxRows;

    public static bool IsSupported { get; } = Avx2.IsSupported && Fma.IsSupported;

    public static bool Handles(Tensor x2d, Tensor weight) =>
        IsSupported
        && weight.dtype == ScalarType.Int8 && TensorMemory.Addressable(weight) && weight.shape[1] % Block == 0
        && x2d.device_type == DeviceType.CPU && x2d.shape[0] is >= 1 and <= MaxRows;

    /// <param name="x2d">[rows, in] in the compute dtype.</param>
    /// <param name="weight">[out, in] int8, contiguous.</param>
    /// <param name="scale">[out] fp32.</param>
    /// <returns>[rows, out] in x's dtype.</returns>
    public static Tensor Forward(Tensor x2d, Tensor weight, Tensor scale, Tensor? bias)
    {
        if (!Handles(x2d, weight))
            throw new ArgumentException($"Int8Gemv takes 1..{MaxRows} rows on the CPU against int8 weights, inputs a multiple of {Block} wide");
        var (rows, inF, outF) = ((int)x2d.shape[0], (int)weight.shape[1], (int)weight.shape[0]);
        using var scope = NewDisposeScope();
        var xs = x2d.to(ScalarType.Float32).contiguous();
        var s = scale.to(ScalarType.Float32).contiguous();
        var y = empty([rows, outF], ScalarType.Float32);
        var (wPtr, xPtr) = (TensorMemory.Address(weight), TensorMemory.Address(xs));
        var (sPtr, yPtr) = (TensorMemory.Address(s), TensorMemory.Address(y));
        ParallelRows.For(outF, (long)inF * rows, (start, end) =>
            Rows((sbyte*)wPtr, (float*)xPtr, (float*)sPtr, (float*)yPtr, start, end, inF, outF, rows));
        if (bias is not null)
            y.PlusInPlace(bias.to(ScalarType.Float32));
        return y.to(x2d.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>Weight rows start..end against every row of x, four rows of x at a time, then two, then one.</summary>
    private static void Rows(sbyte* w, float* x, float* scale, float* y, int start, int end, int inF, int outF, int rows)
    {
        for (var o = start; o < end; o++)
        {
            var row = w + (long)o * inF;
            var r = 0;
            for (; r + 3 < rows; r += 4)
            {
                var (a, b, c, d) = Dot4(row, x + (long)r * inF, inF);
                (y[(long)r * outF + o], y[(long)(r + 1) * outF + o]) = (a * scale[o], b * scale[o]);
                (y[(long)(r + 2) * outF + o], y[(long)(r + 3) * outF + o]) = (c * scale[o], d * scale[o]);
            }
            for (; r + 1 < rows; r += 2)
            {
                var (a, b) = Dot2(row, x + (long)r * inF, x + (long)(r + 1) * inF, inF);
                (y[(long)r * outF + o], y[(long)(r + 1) * outF + o]) = (a * scale[o], b * scale[o]);
            }
            if (r < rows)
                y[(long)r * outF + o] = Dot(row, x + (long)r * inF, inF) * scale[o];
        }
    }

    /// <summary>
    /// Four consecutive rows of x at once (x, x + inF, …), each with exactly the accumulators and order of
    /// <see cref="Dot"/>: one widening of the weights serves four rows, which is what bounds int8 at several rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float, float, float, float) Dot4(sbyte* row, float* x, int inF)
    {
        var x1 = x + inF;
        var x2 = x + 2L * inF;
        var x3 = x + 3L * inF;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, d0 = default, d1 = default, d2 = default, d3 = default;
        for (var k = 0; k < inF; k += Block)
        {
            var w0 = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + k));
            var w1 = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + k + Lanes));
            var w2 = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + k + 2 * Lanes));
            var w3 = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + k + 3 * Lanes));
            a0 = Fma.MultiplyAdd(w0, Vector256.Load(x + k), a0);
            a1 = Fma.MultiplyAdd(w1, Vector256.Load(x + k + Lanes), a1);
            a2 = Fma.MultiplyAdd(w2, Vector256.Load(x + k + 2 * Lanes), a2);
            a3 = Fma.MultiplyAdd(w3, Vector256.Load(x + k + 3 * Lanes), a3);
            b0 = Fma.MultiplyAdd(w0, Vector256.Load(x1 + k), b0);
            b1 = Fma.MultiplyAdd(w1, Vector256.Load(x1 + k + Lanes), b1);
            b2 = Fma.MultiplyAdd(w2, Vector256.Load(x1 + k + 2 * Lanes), b2);
            b3 = Fma.MultiplyAdd(w3, Vector256.Load(x1 + k + 3 * Lanes), b3);
            c0 = Fma.MultiplyAdd(w0, Vector256.Load(x2 + k), c0);
            c1 = Fma.MultiplyAdd(w1, Vector256.Load(x2 + k + Lanes), c1);
            c2 = Fma.MultiplyAdd(w2, Vector256.Load(x2 + k + 2 * Lanes), c2);
            c3 = Fma.MultiplyAdd(w3, Vector256.Load(x2 + k + 3 * Lanes), c3);
            d0 = Fma.MultiplyAdd(w0, Vector256.Load(x3 + k), d0);
            d1 = Fma.MultiplyAdd(w1, Vector256.Load(x3 + k + Lanes), d1);
            d2 = Fma.MultiplyAdd(w2, Vector256.Load(x3 + k + 2 * Lanes), d2);
            d3 = Fma.MultiplyAdd(w3, Vector256.Load(x3 + k + 3 * Lanes), d3);
        }
        return (Vector256.Sum(a0 + a1 + (a2 + a3)), Vector256.Sum(b0 + b1 + (b2 + b3)),
            Vector256.Sum(c0 + c1 + (c2 + c3)), Vector256.Sum(d0 + d1 + (d2 + d3)));
    }

    /// <summary>Two rows of x at once, each with exactly the accumulators and order of <see cref="Dot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float, float) Dot2(sbyte* row, float* x, float* z, int inF)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        for (var k = 0; k < inF; k += Block)
        {
            var w0 = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + k));
            var w1 = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + k + Lanes));
            var w2 = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + k + 2 * Lanes));
            var w3 = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + k + 3 * Lanes));
            a0 = Fma.MultiplyAdd(w0, Vector256.Load(x + k), a0);
            a1 = Fma.MultiplyAdd(w1, Vector256.Load(x + k + Lanes), a1);
            a2 = Fma.MultiplyAdd(w2, Vector256.Load(x + k + 2 * Lanes), a2);
            a3 = Fma.MultiplyAdd(w3, Vector256.Load(x + k + 3 * Lanes), a3);
            b0 = Fma.MultiplyAdd(w0, Vector256.Load(z + k), b0);
            b1 = Fma.MultiplyAdd(w1, Vector256.Load(z + k + Lanes), b1);
            b2 = Fma.MultiplyAdd(w2, Vector256.Load(z + k + 2 * Lanes), b2);
            b3 = Fma.MultiplyAdd(w3, Vector256.Load(z + k + 3 * Lanes), b3);
        }
        return (Vector256.Sum(a0 + a1 + (a2 + a3)), Vector256.Sum(b0 + b1 + (b2 + b3)));
    }

    /// <summary>One int8 weight row with one fp32 row of x; four accumulators hide the FMA latency.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(sbyte* row, float* x, int inF)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var k = 0; k < inF; k += Block)
        {
            a0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + k)), Vector256.Load(x + k), a0);
            a1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + k + Lanes)), Vector256.Load(x + k + Lanes), a1);
            a2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + k + 2 * Lanes)), Vector256.Load(x + k + 2 * Lanes), a2);
            a3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + k + 3 * Lanes)), Vector256.Load(x + k + 3 * Lanes), a3);
        }
        return Vector256.Sum(a0 + a1 + (a2 + a3));
    }
}
