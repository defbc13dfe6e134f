using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// y = x Wᵀ (+ b) for a few rows of x against fp32 weights on the CPU: the fixed-order decode kernel of
/// <see cref="Bf16Gemv"/> for fp32. libtorch's fp32 GEMM gives a row the same bits in any company only when the rows
/// are padded to a multiple of 4, and with 2 to 4 rows it packs the weights first: on the 11B's shapes a padded step
/// took 3.3× a one-row one. This kernel streams each weight row once for all rows of x and reduces every row of x by
/// the same code in the same order.
/// </summary>
public static unsafe class Fp32Gemv
{
    private const int Lanes = 8;

    // One step of the inner loop: four loads of 8 floats.
    private const int Block = 32;

    /// <summary>Most rows taken: a decode step's whole batch.</summary>
    public const int MaxRows = DecodeScope.MaxRows;

    public static bool IsSupported { get; } = Vector256.IsHardwareAccelerated && Fma.IsSupported;

    /// <summary>Whether <see cref="Forward"/> takes this weight, given fp32 rows on the CPU.</summary>
    public static bool Takes(Tensor weight) =>
        IsSupported && weight.dtype == ScalarType.Float32 && TensorMemory.Addressable(weight) && weight.shape[1] % Block == 0;

    /// <summary>Whether <see cref="Forward"/> takes this case (else use libtorch).</summary>
    public static bool Handles(Tensor x2d, Tensor weight) =>
        Takes(weight) && x2d.dtype == ScalarType.Float32 && x2d.device_type == DeviceType.CPU && x2d.shape[0] is >= 1 and <= MaxRows;

    /// <param name="x2d">[rows, in] fp32, 1 ≤ rows ≤ <see cref="MaxRows"/>.</param>
    /// <param name="weight">[out, in] fp32, contiguous.</param>
    /// <param name="bias">[out] or null.</param>
    /// <returns>[rows, out] fp32.</returns>
    public static Tensor Forward(Tensor x2d, Tensor weight, Tensor? bias)
    {
        if (!Handles(x2d, weight))
            throw new ArgumentException($"Fp32Gemv takes 1..{MaxRows} rows of fp32 on the CPU, inputs a multiple of {Block} wide");
        var (rows, inF, outF) = ((int)x2d.shape[0], (int)weight.shape[1], (int)weight.shape[0]);
        using var scope = NewDisposeScope();
        var x = x2d.contiguous();
        var y = empty([rows, outF], ScalarType.Float32);
        var (wPtr, xPtr, yPtr) = (TensorMemory.Address(weight), TensorMemory.Address(x), TensorMemory.Address(y));
        ParallelRows.For(outF, inF * 4L * rows, (start, end) => Rows((float*)wPtr, (float*)xPtr, (float*)yPtr, start, end, inF, outF, rows));
        if (bias is not null)
            y.PlusInPlace(bias);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>Weight rows start..end against every row of x, two rows of x per read of a weight row.</summary>
    private static void Rows(float* w, float* x, float* y, int start, int end, int inF, int outF, int rows)
    {
        for (var o = start; o < end; o++)
        {
            var row = w + (long)o * inF;
            var r = 0;
            for (; r + 1 < rows; r += 2)
                (y[(long)r * outF + o], y[(long)(r + 1) * outF + o]) = Dot2(row, x + (long)r * inF, x + (long)(r + 1) * inF, inF);
            if (r < rows)
                y[(long)r * outF + o] = Dot(row, x + (long)r * inF, inF);
        }
    }

    /// <summary>Two rows of x at once, each with exactly the accumulators and order of <see cref="Dot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float, float) Dot2(float* row, float* x, float* z, int inF)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (var k = 0; k < inF; k += Block)
        {
            var w0 = Vector256.Load(row + k);
            var w1 = Vector256.Load(row + k + Lanes);
            var w2 = Vector256.Load(row + k + 2 * Lanes);
            var w3 = Vector256.Load(row + k + 3 * Lanes);
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

    /// <summary>One weight row with one row of x; four independent accumulators hide the FMA latency.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(float* row, float* x, int inF)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var k = 0; k < inF; k += Block)
        {
            a0 = Fma.MultiplyAdd(Vector256.Load(row + k), Vector256.Load(x + k), a0);
            a1 = Fma.MultiplyAdd(Vector256.Load(row + k + Lanes), Vector256.Load(x + k + Lanes), a1);
            a2 = Fma.MultiplyAdd(Vector256.Load(row + k + 2 * Lanes), Vector256.Load(x + k + 2 * Lanes), a2);
            a3 = Fma.MultiplyAdd(Vector256.Load(row + k + 3 * Lanes), Vector256.Load(x + k + 3 * Lanes), a3);
        }
        return Vector256.Sum(a0 + a1 + (a2 + a3));
    }
}
