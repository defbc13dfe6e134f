using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// y = x Wᵀ (+ b) for a few rows of x against 4-bit weights (<see cref="Int4Weights"/>), on the CPU: decode steps, where
/// reading the weights is the work and 4 bits read about half the bytes of int8. As llama.cpp pairs Q4_0 weights with
/// Q8_0 activations, each row of x is quantized per group of 32 to int8 with its own fp32 scale; a group's product is
/// then an exact integer, Σ q·xq (AVX2's byte multiply-add into 16 and then 32 bits), the −8 of the codes comes off as
/// −8 · Σ xq, and the integers are scaled by d_w · d_x and summed in fp32. Each weight row is read once for up to four
/// rows of x, which share one unpacking of the codes; every row, in a block of four or alone, gets the same integer
/// lanes and the same fp32 operations in the same order, so a sequence's results do not depend on what shares its batch,
/// and quantizing a row of x depends on that row alone.
/// </summary>
public static unsafe class Int4Gemv
{
    /// <summary>Most rows taken (a decode step's batch); longer inputs dequantize and use libtorch's GEMM.</summary>
    public const int MaxRows = DecodeScope.MaxRows;

    public static bool IsSupported { get; } = Avx2.IsSupported && Fma.IsSupported;

    public static bool Handles(Tensor x2d, Tensor packed) =>
        IsSupported && packed.dtype == ScalarType.Byte && TensorMemory.Addressable(packed)
        && x2d.device_type == DeviceType.CPU && x2d.shape[0] is >= 1 and <= MaxRows;

    /// <summary>
    /// Rows of x quantized per group of 32: int8 values [rows, groups · 32] (zeros past the row's end), their fp32 scales
    /// [rows, groups] (max |x| / 127; values round(x / scale), ties to even) and −8 · Σ values per group as fp32
    /// [rows, groups] (exact: at most 8 · 32 · 127). Each row on its own, in one pass.
    /// </summary>
    public static (Tensor Values, Tensor Scales, Tensor Offsets) QuantizeRows(Tensor x2d, long groups)
    {
        var (rows, width) = (x2d.shape[0], x2d.shape[1]);
        using var scope = NewDisposeScope();
        var xs = x2d.to(ScalarType.Float32).contiguous();
        var values = empty([rows, groups * Int4Weights.Group], ScalarType.Int8);
        var scales = empty([rows, groups], ScalarType.Float32);
        var offsets = empty([rows, groups], ScalarType.Float32);
        var xPtr = (float*)TensorMemory.Address(xs);
        var vPtr = (sbyte*)TensorMemory.Address(values);
        var sPtr = (float*)TensorMemory.Address(scales);
        var oPtr = (float*)TensorMemory.Address(offsets);
        var group = stackalloc float[Int4Weights.Group];
        for (long r = 0; r < rows; r++)
            for (long g = 0; g < groups; g++)
            {
                var start = g * Int4Weights.Group;
                var count = (int)Math.Min(Int4Weights.Group, width - start);
                new Span<float>(group, Int4Weights.Group).Clear();
                new ReadOnlySpan<float>(xPtr + r * width + start, count).CopyTo(new Span<float>(group, count));
                var i = r * groups + g;
                var (scale, offset) = QuantizeGroup(group, vPtr + r * groups * Int4Weights.Group + start);
                sPtr[i] = scale;
                oPtr[i] = offset;
            }
        return (values.MoveToOuterDisposeScope(), scales.MoveToOuterDisposeScope(), offsets.MoveToOuterDisposeScope());
    }

    /// <summary>One group of 32: its int8 values into <paramref name="q"/>; its scale and −8 · Σ values.</summary>
    private static (float Scale, float Offset) QuantizeGroup(float* x, sbyte* q)
    {
        var (v0, v1, v2, v3) = (Vector256.Load(x), Vector256.Load(x + 8), Vector256.Load(x + 16), Vector256.Load(x + 24));
        var max = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
        var scale = Vector256.Max(max, Vector256.Shuffle(max, Vector256.Create(4, 5, 6, 7, 0, 1, 2, 3)));
        scale = Vector256.Max(scale, Vector256.Shuffle(scale, Vector256.Create(2, 3, 0, 1, 6, 7, 4, 5)));
        scale = Vector256.Max(scale, Vector256.Shuffle(scale, Vector256.Create(1, 0, 3, 2, 5, 4, 7, 6)));
        var dx = scale.ToScalar() / 127f;
        if (dx == 0)
        {
            new Span<sbyte>(q, Int4Weights.Group).Clear();
            return (0, 0);
        }
        var d = Vector256.Create(dx);
        Vector256<int> Round(Vector256<float> v) => Vector256.ConvertToInt32(Vector256.Round(v / d));
        var (i0, i1, i2, i3) = (Round(v0), Round(v1), Round(v2), Round(v3));
        Vector256.Narrow(Vector256.Narrow(i0, i1), Vector256.Narrow(i2, i3)).Store(q);
        return (dx, -8f * Vector256.Sum(i0 + i1 + (i2 + i3)));
    }

    /// <param name="x2d">[rows, in] in the compute dtype.</param>
    /// <param name="packed">[out, groups · 16] codes, contiguous.</param>
    /// <param name="scale">[out, groups] fp16.</param>
    /// <returns>[rows, out] in x's dtype.</returns>
    public static Tensor Forward(Tensor x2d, Tensor packed, Tensor scale, Tensor? bias)
    {
        if (!Handles(x2d, packed))
            throw new ArgumentException($"Int4Gemv takes 1..{MaxRows} rows on a CPU with AVX2 and FMA against 4-bit codes");
        var (rows, outF) = ((int)x2d.shape[0], (int)packed.shape[0]);
        var groups = (int)scale.shape[1];
        if (packed.shape[1] != groups * Int4Weights.GroupBytes || Int4Weights.Groups(x2d.shape[1]) != groups || scale.dtype != ScalarType.Float16)
            throw new ArgumentException($"4-bit weight [{string.Join(", ", packed.shape)}] with fp16 scales [{string.Join(", ", scale.shape)}] does not fit inputs {x2d.shape[1]} wide");
        using var scope = NewDisposeScope();
        var (xq, dx, offsets) = QuantizeRows(x2d, groups);
        var s = scale.contiguous();
        var y = empty([rows, outF], ScalarType.Float32);
        var (wPtr, sPtr, yPtr) = (TensorMemory.Address(packed), TensorMemory.Address(s), TensorMemory.Address(y));
        var (qPtr, dxPtr, oPtr) = (TensorMemory.Address(xq), TensorMemory.Address(dx), TensorMemory.Address(offsets));
        ParallelRows.For(outF, (long)groups * Int4Weights.GroupBytes * rows, (start, end) =>
        {
            // Per weight row: its scales widened, then each row of x's group scales d_w · d_x.
            var buffers = new float[groups * 5];
            fixed (float* b = buffers)
            {
                var dw = b;
                var sc = b + groups;
                for (var o = start; o < end; o++)
                {
                    Int4Weights.HalfToSingle((ushort*)sPtr + (long)o * groups, dw, groups);
                    var codes = (byte*)wPtr + (long)o * groups * Int4Weights.GroupBytes;
                    var r = 0;
                    for (; r + 3 < rows; r += 4)
                    {
                        for (var k = 0; k < 4; k++)
                            Scales(dw, (float*)dxPtr + (long)(r + k) * groups, sc + k * groups, groups);
                        var x = (sbyte*)qPtr + (long)r * groups * Int4Weights.Group;
                        var (a, bb, c, d) = Dot4(codes, sc, x, groups);
                        var at = (float*)yPtr + (long)r * outF + o;
                        for (var k = 0; k < 4; k++)
                            at[k * (long)outF] = (k switch { 0 => a, 1 => bb, 2 => c, _ => d })
                                                 + Offset(sc + k * groups, (float*)oPtr + (long)(r + k) * groups, groups);
                    }
                    for (; r < rows; r++)
                    {
                        Scales(dw, (float*)dxPtr + (long)r * groups, sc, groups);
                        var x = (sbyte*)qPtr + (long)r * groups * Int4Weights.Group;
                        ((float*)yPtr)[(long)r * outF + o] = Dot(codes, sc, x, groups) + Offset(sc, (float*)oPtr + (long)r * groups, groups);
                    }
                }
            }
        });
        if (bias is not null)
            y.PlusInPlace(bias.to(ScalarType.Float32));
        return y.to(x2d.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>Each group's d_w · d_x.</summary>
    private static void Scales(float* dw, float* dx, float* sc, int groups)
    {
        var g = 0;
        for (; g + 8 <= groups; g += 8)
            (Vector256.Load(dw + g) * Vector256.Load(dx + g)).Store(sc + g);
        for (; g < groups; g++)
            sc[g] = dw[g] * dx[g];
    }

    /// <summary>Σ over groups of d_w · d_x · (−8 · Σ xq): the codes' offset, in a fixed order.</summary>
    private static float Offset(float* sc, float* offsets, int groups)
    {
        Vector256<float> acc = default;
        var g = 0;
        for (; g + 8 <= groups; g += 8)
            acc = Vector256.FusedMultiplyAdd(Vector256.Load(sc + g), Vector256.Load(offsets + g), acc);
        var sum = Vector256.Sum(acc);
        for (; g < groups; g++)
            sum = MathF.FusedMultiplyAdd(sc[g], offsets[g], sum);
        return sum;
    }

    /// <summary>A group's 16 bytes as its 32 codes, one byte each in the order of the weights (low nibbles, then high).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Codes(byte* codes)
    {
        var bytes = Vector128.Load(codes);
        var low = Vector128.Create((byte)15);
        return Vector256.Create(bytes & low, Vector128.ShiftRightLogical(bytes.AsUInt16(), 4).AsByte() & low);
    }

    /// <summary>Σ q · xq of one group as eight exact 32-bit lanes, each the sum of four adjacent products.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Products(Vector256<byte> q, sbyte* x) =>
        Vector256.ConvertToSingle(Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, Vector256.Load(x)), Vector256.Create((short)1)));

    /// <summary>One weight row with one row of x: per group its integer lanes times d_w · d_x, into one accumulator.</summary>
    private static float Dot(byte* codes, float* sc, sbyte* x, int groups)
    {
        Vector256<float> acc = default;
        for (var g = 0; g < groups; g++, codes += Int4Weights.GroupBytes, x += Int4Weights.Group)
            acc = Vector256.FusedMultiplyAdd(Products(Codes(codes), x), Vector256.Create(sc[g]), acc);
        return Vector256.Sum(acc);
    }

    /// <summary>Four consecutive rows of x (their scales <paramref name="sc"/> one after another), each exactly as <see cref="Dot"/>.</summary>
    private static (float, float, float, float) Dot4(byte* codes, float* sc, sbyte* x, int groups)
    {
        Vector256<float> a = default, b = default, c = default, d = default;
        long stride = (long)groups * Int4Weights.Group;
        for (var g = 0; g < groups; g++, codes += Int4Weights.GroupBytes, x += Int4Weights.Group)
        {
            var q = Codes(codes);
            a = Vector256.FusedMultiplyAdd(Products(q, x), Vector256.Create(sc[g]), a);
            b = Vector256.FusedMultiplyAdd(Products(q, x + stride), Vector256.Create(sc[groups + g]), b);
            c = Vector256.FusedMultiplyAdd(Products(q, x + 2 * stride), Vector256.Create(sc[2 * groups + g]), c);
            d = Vector256.FusedMultiplyAdd(Products(q, x + 3 * stride), Vector256.Create(sc[3 * groups + g]), d);
        }
        return (Vector256.Sum(a), Vector256.Sum(b), Vector256.Sum(c), Vector256.Sum(d));
    }
}
