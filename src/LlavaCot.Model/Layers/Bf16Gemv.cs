using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// y = x Wᵀ (+ b) for a few rows of x against bf16 weights on the CPU: decode steps, where reading the weights is
/// most of the work. libtorch's bf16 GEMV reads them well below the memory bandwidth here; this kernel streams each
/// weight row once over all cores, widening bf16 to fp32 by a shift (bf16 is the upper half of an fp32), and
/// accumulates in fp32 like libtorch. Every row of x is reduced by the same code in the same order, whatever the
/// number of rows: a sequence's results do not depend on what else is in its batch (libtorch's GEMM picks its
/// blocking by the batch size, and with it the rounding).
/// </summary>
public static unsafe class Bf16Gemv
{
    // 256-bit vectors with FMA (any AVX2 CPU); 512-bit ones were only ~20% faster here and would double the kernel.
    private const int Lanes = 8;

    // One step of the inner loop: four loads of 16 bf16.
    private const int Block = 64;

    /// <summary>
    /// Most rows taken: a decode step's whole batch (the server's MaxBatchRows may not exceed it, so that results stay
    /// batch-invariant). Longer inputs are prompts, which libtorch's GEMM runs much faster.
    /// </summary>
    public const int MaxRows = DecodeScope.MaxRows;

    public static bool IsSupported { get; } = Vector256.IsHardwareAccelerated && Fma.IsSupported;

    /// <summary>Whether <see cref="Forward"/> takes this case (else use libtorch).</summary>
    public static bool Handles(Tensor x2d, Tensor weight) =>
        IsSupported
        && weight.dtype == ScalarType.BFloat16 && x2d.dtype is ScalarType.BFloat16 or ScalarType.Float32
        && TensorMemory.Addressable(weight) && weight.shape[1] % Block == 0
        && x2d.device_type == DeviceType.CPU && x2d.shape[0] is >= 1 and <= MaxRows;

    /// <param name="x2d">[rows, in] bf16, or fp32 (bf16 weights computed in fp32), 1 ≤ rows ≤ <see cref="MaxRows"/>.</param>
    /// <param name="weight">[out, in] bf16, contiguous.</param>
    /// <param name="bias">[out] or null.</param>
    /// <returns>[rows, out] in the dtype of x.</returns>
    public static Tensor Forward(Tensor x2d, Tensor weight, Tensor? bias)
    {
        if (!Handles(x2d, weight))
            throw new ArgumentException($"Bf16Gemv takes 1..{MaxRows} rows of bf16 or fp32 on the CPU, inputs a multiple of {Block} wide");
        var (rows, inF, outF) = ((int)x2d.shape[0], (int)weight.shape[1], (int)weight.shape[0]);
        using var scope = NewDisposeScope();
        var xs = Deinterleave(x2d.to(ScalarType.Float32).contiguous());
        var y = empty([rows, outF], ScalarType.Float32);
        var (wPtr, yPtr) = (TensorMemory.Address(weight), TensorMemory.Address(y));
        fixed (float* xPtr0 = xs)
        {
            var xPtr = (nint)xPtr0;
            ParallelRows.For(outF, inF * 2L * rows, (start, end) => Rows((ushort*)wPtr, (float*)xPtr, (float*)yPtr, start, end, inF, outF, rows));
        }
        if (bias is not null)
            y.PlusInPlace(bias.to(ScalarType.Float32));
        return y.to(x2d.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// x in blocks of 16: the block's 8 even elements, then its 8 odd ones, so they line up with the two halves a load
    /// of 16 bf16 widens into.
    /// </summary>
    private static float[] Deinterleave(Tensor x)
    {
        var source = x.data<float>().ToArray();
        var result = new float[source.Length];
        for (var k = 0; k < source.Length; k += 2 * Lanes)
        {
            for (var i = 0; i < Lanes; i++)
            {
                result[k + i] = source[k + 2 * i];
                result[k + Lanes + i] = source[k + 2 * i + 1];
            }
        }
        return result;
    }

    /// <summary>
    /// Weight rows start..end against every row of x: each weight row is read from memory once and stays in the
    /// cache while the rows of x take their turn, two at a time (one widening of the weights serves both).
    /// </summary>
    private static void Rows(ushort* w, float* x, float* y, int start, int end, int inF, int outF, int rows)
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
    private static (float, float) Dot2(ushort* row, float* x, float* z, int inF)
    {
        var high = Vector256.Create(0xFFFF0000u);
        Vector256<float> e0 = default, o0 = default, e1 = default, o1 = default, e2 = default, o2 = default, e3 = default, o3 = default;
        Vector256<float> f0 = default, p0 = default, f1 = default, p1 = default, f2 = default, p2 = default, f3 = default, p3 = default;
        for (var k = 0; k < inF; k += Block)
        {
            var r0 = Vector256.Load((uint*)(row + k));
            var r1 = Vector256.Load((uint*)(row + k + 16));
            var r2 = Vector256.Load((uint*)(row + k + 32));
            var r3 = Vector256.Load((uint*)(row + k + 48));
            var (w0, v0) = (Vector256.ShiftLeft(r0, 16).AsSingle(), (r0 & high).AsSingle());
            var (w1, v1) = (Vector256.ShiftLeft(r1, 16).AsSingle(), (r1 & high).AsSingle());
            var (w2, v2) = (Vector256.ShiftLeft(r2, 16).AsSingle(), (r2 & high).AsSingle());
            var (w3, v3) = (Vector256.ShiftLeft(r3, 16).AsSingle(), (r3 & high).AsSingle());
            e0 = Fma.MultiplyAdd(w0, Vector256.Load(x + k), e0);
            o0 = Fma.MultiplyAdd(v0, Vector256.Load(x + k + 8), o0);
            e1 = Fma.MultiplyAdd(w1, Vector256.Load(x + k + 16), e1);
            o1 = Fma.MultiplyAdd(v1, Vector256.Load(x + k + 24), o1);
            e2 = Fma.MultiplyAdd(w2, Vector256.Load(x + k + 32), e2);
            o2 = Fma.MultiplyAdd(v2, Vector256.Load(x + k + 40), o2);
            e3 = Fma.MultiplyAdd(w3, Vector256.Load(x + k + 48), e3);
            o3 = Fma.MultiplyAdd(v3, Vector256.Load(x + k + 56), o3);
            f0 = Fma.MultiplyAdd(w0, Vector256.Load(z + k), f0);
            p0 = Fma.MultiplyAdd(v0, Vector256.Load(z + k + 8), p0);
            f1 = Fma.MultiplyAdd(w1, Vector256.Load(z + k + 16), f1);
            p1 = Fma.MultiplyAdd(v1, Vector256.Load(z + k + 24), p1);
            f2 = Fma.MultiplyAdd(w2, Vector256.Load(z + k + 32), f2);
            p2 = Fma.MultiplyAdd(v2, Vector256.Load(z + k + 40), p2);
            f3 = Fma.MultiplyAdd(w3, Vector256.Load(z + k + 48), f3);
            p3 = Fma.MultiplyAdd(v3, Vector256.Load(z + k + 56), p3);
        }
        return (Vector256.Sum(e0 + o0 + (e1 + o1) + (e2 + o2 + (e3 + o3))), Vector256.Sum(f0 + p0 + (f1 + p1) + (f2 + p2 + (f3 + p3))));
    }

    /// <summary>One weight row with one row of x; four independent accumulator pairs hide the FMA latency.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(ushort* row, float* x, int inF)
    {
        var high = Vector256.Create(0xFFFF0000u);
        Vector256<float> e0 = default, o0 = default, e1 = default, o1 = default, e2 = default, o2 = default, e3 = default, o3 = default;
        for (var k = 0; k < inF; k += Block)
        {
            var r0 = Vector256.Load((uint*)(row + k));
            var r1 = Vector256.Load((uint*)(row + k + 16));
            var r2 = Vector256.Load((uint*)(row + k + 32));
            var r3 = Vector256.Load((uint*)(row + k + 48));
            e0 = Fma.MultiplyAdd(Vector256.ShiftLeft(r0, 16).AsSingle(), Vector256.Load(x + k), e0);
            o0 = Fma.MultiplyAdd((r0 & high).AsSingle(), Vector256.Load(x + k + 8), o0);
            e1 = Fma.MultiplyAdd(Vector256.ShiftLeft(r1, 16).AsSingle(), Vector256.Load(x + k + 16), e1);
            o1 = Fma.MultiplyAdd((r1 & high).AsSingle(), Vector256.Load(x + k + 24), o1);
            e2 = Fma.MultiplyAdd(Vector256.ShiftLeft(r2, 16).AsSingle(), Vector256.Load(x + k + 32), e2);
            o2 = Fma.MultiplyAdd((r2 & high).AsSingle(), Vector256.Load(x + k + 40), o2);
            e3 = Fma.MultiplyAdd(Vector256.ShiftLeft(r3, 16).AsSingle(), Vector256.Load(x + k + 48), e3);
            o3 = Fma.MultiplyAdd((r3 & high).AsSingle(), Vector256.Load(x + k + 56), o3);
        }
        return Vector256.Sum(e0 + o0 + (e1 + o1) + (e2 + o2 + (e3 + o3)));
    }
}
