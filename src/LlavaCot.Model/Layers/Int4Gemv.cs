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
/// −8 · Σ xq, and the integers are scaled by d_w · d_x and summed in fp32. Two groups share one 256-bit vector (32 bytes
/// of codes; x is laid out to match), which halves the instructions per byte against a group per vector. Each weight row
/// is read once for up to four rows of x, which share one unpacking of the codes; every row, in a block of four or alone,
/// gets the same integer lanes and the same fp32 operations in the same order, so a sequence's results do not depend on
/// what shares its batch, and quantizing a row of x depends on that row alone.
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
    public static (Tensor Values, Tensor Scales, Tensor Offsets) QuantizeRows(Tensor x2d, long groups) => Quantize(x2d, groups, paired: false);

    /// <summary>
    /// <see cref="QuantizeRows"/>, with the values either in order or laid out as the kernel reads them: per pair of groups
    /// (g, g + 1) the first 16 values of g, of g + 1, then the last 16 of each, matching a 32-byte load of their codes (low
    /// nibbles, then high); an odd last group takes a pair's room, its partner's values zero.
    /// </summary>
    private static (Tensor Values, Tensor Scales, Tensor Offsets) Quantize(Tensor x2d, long groups, bool paired)
    {
        var (rows, width) = (x2d.shape[0], x2d.shape[1]);
        var slots = paired ? (groups + 1) / 2 * 2 : groups;
        using var scope = NewDisposeScope();
        var xs = x2d.to(ScalarType.Float32).contiguous();
        var values = zeros([rows, slots * Int4Weights.Group], ScalarType.Int8);
        var scales = empty([rows, groups], ScalarType.Float32);
        var offsets = empty([rows, groups], ScalarType.Float32);
        var xPtr = (float*)TensorMemory.Address(xs);
        var vPtr = (sbyte*)TensorMemory.Address(values);
        var sPtr = (float*)TensorMemory.Address(scales);
        var oPtr = (float*)TensorMemory.Address(offsets);
        var group = stackalloc float[Int4Weights.Group];
        const int half = Int4Weights.Group / 2;
        for (long r = 0; r < rows; r++)
            for (long g = 0; g < groups; g++)
            {
                var start = g * Int4Weights.Group;
                var count = (int)Math.Min(Int4Weights.Group, width - start);
                new Span<float>(group, Int4Weights.Group).Clear();
                new ReadOnlySpan<float>(xPtr + r * width + start, count).CopyTo(new Span<float>(group, count));
                var i = r * groups + g;
                var row = vPtr + r * slots * Int4Weights.Group;
                var low = paired ? row + (g & ~1L) * Int4Weights.Group + (g & 1) * half : row + start;
                var (scale, offset) = QuantizeGroup(group, low, paired ? low + 2 * half : low + half);
                sPtr[i] = scale;
                oPtr[i] = offset;
            }
        return (values.MoveToOuterDisposeScope(), scales.MoveToOuterDisposeScope(), offsets.MoveToOuterDisposeScope());
    }

    /// <summary>One group of 32: its first 16 int8 values into <paramref name="low"/>, the last 16 into <paramref name="high"/>; its scale and −8 · Σ values.</summary>
    private static (float Scale, float Offset) QuantizeGroup(float* x, sbyte* low, sbyte* high)
    {
        var (v0, v1, v2, v3) = (Vector256.Load(x), Vector256.Load(x + 8), Vector256.Load(x + 16), Vector256.Load(x + 24));
        var max = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
        var scale = Vector256.Max(max, Vector256.Shuffle(max, Vector256.Create(4, 5, 6, 7, 0, 1, 2, 3)));
        scale = Vector256.Max(scale, Vector256.Shuffle(scale, Vector256.Create(2, 3, 0, 1, 6, 7, 4, 5)));
        scale = Vector256.Max(scale, Vector256.Shuffle(scale, Vector256.Create(1, 0, 3, 2, 5, 4, 7, 6)));
        var dx = scale.ToScalar() / 127f;
        if (dx == 0)
            return (0, 0);
        var d = Vector256.Create(dx);
        Vector256<int> Round(Vector256<float> v) => Vector256.ConvertToInt32(Vector256.Round(v / d));
        var (i0, i1, i2, i3) = (Round(v0), Round(v1), Round(v2), Round(v3));
        var q = Vector256.Narrow(Vector256.Narrow(i0, i1), Vector256.Narrow(i2, i3));
        q.GetLower().Store(low);
        q.GetUpper().Store(high);
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
        var (xq, dx, offsets) = Quantize(x2d, groups, paired: true);
        var stride = xq.shape[1];
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
                        var x = (sbyte*)qPtr + r * stride;
                        var (a, bb, c, d) = Dot4(codes, sc, x, stride, groups);
                        var at = (float*)yPtr + (long)r * outF + o;
                        for (var k = 0; k < 4; k++)
                            at[k * (long)outF] = (k switch { 0 => a, 1 => bb, 2 => c, _ => d })
                                                 + Offset(sc + k * groups, (float*)oPtr + (long)(r + k) * groups, groups);
                    }
                    for (; r < rows; r++)
                    {
                        Scales(dw, (float*)dxPtr + (long)r * groups, sc, groups);
                        var x = (sbyte*)qPtr + r * stride;
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

    // Lane pairs of the pair scales: four pairs of groups from eight scales.
    private static readonly Vector256<int> Pair0 = Vector256.Create(0, 0, 0, 0, 1, 1, 1, 1);
    private static readonly Vector256<int> Pair1 = Vector256.Create(2, 2, 2, 2, 3, 3, 3, 3);
    private static readonly Vector256<int> Pair2 = Vector256.Create(4, 4, 4, 4, 5, 5, 5, 5);
    private static readonly Vector256<int> Pair3 = Vector256.Create(6, 6, 6, 6, 7, 7, 7, 7);

    /// <summary>
    /// Two groups' codes (32 bytes: group g, then g + 1) times their values as <see cref="Quantize"/> lays them out, as
    /// eight exact 32-bit lanes: lanes 0–3 group g, 4–7 group g + 1, each lane the sum of eight products.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Products(Vector256<byte> low, Vector256<byte> high, sbyte* x) =>
        Vector256.ConvertToSingle(Avx2.MultiplyAddAdjacent(
            Avx2.MultiplyAddAdjacent(low, Vector256.Load(x)) + Avx2.MultiplyAddAdjacent(high, Vector256.Load(x + 32)),
            Vector256.Create((short)1)));

    /// <summary>A pair's codes, one byte each: the low nibbles of both groups, then the high nibbles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<byte> Low, Vector256<byte> High) Codes(Vector256<byte> bytes)
    {
        var mask = Vector256.Create((byte)15);
        return (bytes & mask, Vector256.ShiftRightLogical(bytes.AsUInt16(), 4).AsByte() & mask);
    }

    /// <summary>Pair p's codes: 32 bytes, or for an odd last group its 16 with a zero partner.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<byte> Low, Vector256<byte> High) PairCodes(byte* codes, int g, int groups) =>
        Codes(g + 1 < groups ? Vector256.Load(codes) : Vector256.Create(Vector128.Load(codes), Vector128<byte>.Zero));

    /// <summary>Pair g's scales, four lanes each; an odd last group's partner zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> PairScales(float* sc, int g, int groups) =>
        Vector256.Create(Vector128.Create(sc[g]), g + 1 < groups ? Vector128.Create(sc[g + 1]) : Vector128<float>.Zero);

    /// <summary>One weight row with one row of x: per pair of groups its integer lanes times d_w · d_x, into one accumulator.</summary>
    private static float Dot(byte* codes, float* sc, sbyte* x, int groups)
    {
        Vector256<float> acc = default;
        var g = 0;
        for (; g + 8 <= groups; g += 8, codes += 8 * Int4Weights.GroupBytes, x += 8 * Int4Weights.Group)
        {
            var s = Vector256.Load(sc + g);
            acc = Pair(acc, Codes(Vector256.Load(codes)), x, Avx2.PermuteVar8x32(s, Pair0));
            acc = Pair(acc, Codes(Vector256.Load(codes + 32)), x + 64, Avx2.PermuteVar8x32(s, Pair1));
            acc = Pair(acc, Codes(Vector256.Load(codes + 64)), x + 128, Avx2.PermuteVar8x32(s, Pair2));
            acc = Pair(acc, Codes(Vector256.Load(codes + 96)), x + 192, Avx2.PermuteVar8x32(s, Pair3));
        }
        for (; g < groups; g += 2, codes += 2 * Int4Weights.GroupBytes, x += 2 * Int4Weights.Group)
            acc = Pair(acc, PairCodes(codes, g, groups), x, PairScales(sc, g, groups));
        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Pair(Vector256<float> acc, (Vector256<byte> Low, Vector256<byte> High) q, sbyte* x, Vector256<float> scales) =>
        Vector256.FusedMultiplyAdd(Products(q.Low, q.High, x), scales, acc);

    /// <summary>
    /// Four consecutive rows of x, <paramref name="stride"/> values apart (their scales <paramref name="sc"/> one after
    /// another, groups apart), each exactly as <see cref="Dot"/>.
    /// </summary>
    private static (float, float, float, float) Dot4(byte* codes, float* sc, sbyte* x, long stride, int groups)
    {
        Vector256<float> a = default, b = default, c = default, d = default;
        var sb = sc + groups;
        var sc2 = sc + 2 * groups;
        var sd = sc + 3 * groups;
        var g = 0;
        for (; g + 8 <= groups; g += 8, codes += 8 * Int4Weights.GroupBytes, x += 8 * Int4Weights.Group)
        {
            var (ea, eb, ec, ed) = (Vector256.Load(sc + g), Vector256.Load(sb + g), Vector256.Load(sc2 + g), Vector256.Load(sd + g));
            for (var p = 0; p < 4; p++)
            {
                var q = Codes(Vector256.Load(codes + 32 * p));
                var lanes = p switch { 0 => Pair0, 1 => Pair1, 2 => Pair2, _ => Pair3 };
                var at = x + 64 * p;
                a = Pair(a, q, at, Avx2.PermuteVar8x32(ea, lanes));
                b = Pair(b, q, at + stride, Avx2.PermuteVar8x32(eb, lanes));
                c = Pair(c, q, at + 2 * stride, Avx2.PermuteVar8x32(ec, lanes));
                d = Pair(d, q, at + 3 * stride, Avx2.PermuteVar8x32(ed, lanes));
            }
        }
        for (; g < groups; g += 2, codes += 2 * Int4Weights.GroupBytes, x += 2 * Int4Weights.Group)
        {
            var q = PairCodes(codes, g, groups);
            a = Pair(a, q, x, PairScales(sc, g, groups));
            b = Pair(b, q, x + stride, PairScales(sb, g, groups));
            c = Pair(c, q, x + 2 * stride, PairScales(sc2, g, groups));
            d = Pair(d, q, x + 3 * stride, PairScales(sd, g, groups));
        }
        return (Vector256.Sum(a), Vector256.Sum(b), Vector256.Sum(c), Vector256.Sum(d));
    }
}
