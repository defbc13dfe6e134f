using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// y = x Wᵀ (+ b) for one row of x against bf16 weights on the CPU: a single sequence's decode step, where reading
/// the weights is all the work. libtorch's bf16 GEMV reads them well below the memory bandwidth here; this kernel
/// streams the weights once over all cores, widening bf16 to fp32 by a shift (bf16 is the upper half of an fp32),
/// and accumulates in fp32 like libtorch.
/// </summary>
public static unsafe class Bf16Gemv
{
    // 256-bit vectors with FMA (any AVX2 CPU); 512-bit ones were only ~20% faster here and would double the kernel.
    private const int Lanes = 8;

    // One step of the inner loop: four loads of 16 bf16.
    private const int Block = 64;

    public static bool IsSupported { get; } = Vector256.IsHardwareAccelerated && Fma.IsSupported;

    /// <summary>
    /// Whether <see cref="Forward"/> takes this case (else use libtorch). One row only: with more, libtorch's GEMM
    /// reuses each weight across rows better than a multi-row version of this kernel did (4 rows: 9.9 ms vs 3.8 ms).
    /// </summary>
    public static bool Handles(Tensor x2d, Tensor weight) =>
        IsSupported
        && weight.dtype == ScalarType.BFloat16 && x2d.dtype == ScalarType.BFloat16
        && weight.device_type == DeviceType.CPU && x2d.device_type == DeviceType.CPU
        && x2d.shape[0] == 1 && weight.is_contiguous()
        && weight.shape[1] % Block == 0 && weight.numel() * 2 <= int.MaxValue;

    /// <param name="x2d">[1, in] bf16.</param>
    /// <param name="weight">[out, in] bf16, contiguous.</param>
    /// <param name="bias">[out] or null.</param>
    /// <returns>[1, out] bf16.</returns>
    public static Tensor Forward(Tensor x2d, Tensor weight, Tensor? bias)
    {
        if (!Handles(x2d, weight))
            throw new ArgumentException("Bf16Gemv takes one row of bf16 on the CPU, inputs a multiple of 64 wide");
        var (inF, outF) = ((int)weight.shape[1], (int)weight.shape[0]);
        using var scope = NewDisposeScope();
        var xs = Deinterleave(x2d.to(ScalarType.Float32).contiguous());
        var y = empty([1, outF], ScalarType.Float32);
        var wPtr = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(weight.bytes));
        var yPtr = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(y.bytes));
        fixed (float* xPtr0 = xs)
        {
            var xPtr = (nint)xPtr0;
            ParallelRows.For(outF, inF * 2L, (start, end) => Rows((ushort*)wPtr, (float*)xPtr, (float*)yPtr, start, end, inF));
        }
        if (bias is not null)
            y.add_(bias.to(ScalarType.Float32));
        return y.to(ScalarType.BFloat16).MoveToOuterDisposeScope();
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

    /// <summary>Dot products of weight rows start..end with x; four independent accumulator pairs hide the FMA latency.</summary>
    private static void Rows(ushort* w, float* x, float* y, int start, int end, int inF)
    {
        var high = Vector256.Create(0xFFFF0000u);
        for (var o = start; o < end; o++)
        {
            var row = w + (long)o * inF;
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
            y[o] = Vector256.Sum(e0 + o0 + (e1 + o1) + (e2 + o2 + (e3 + o3)));
        }
    }
}
