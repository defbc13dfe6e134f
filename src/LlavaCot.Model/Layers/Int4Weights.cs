using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// Weight-only 4-bit quantization in groups of <see cref="Group"/> weights along a row, symmetric, as llama.cpp's Q4_0:
/// each group keeps one fp16 scale d = m / −8, where m is the group's value of largest magnitude, and 4-bit codes
/// q = round(w / d) + 8 clamped to 0..15, so w ≈ (q − 8) · d; m itself is exact up to the scale's rounding.
/// Stored as bytes [out, groups · 16]: byte j of a group holds weight j in its low nibble and weight j + 16 in its high
/// nibble, so one 16-byte load gives a group's two halves. A row whose length is not a multiple of the group is padded
/// with zeros (code 8) to whole groups; the scales are [out, groups] fp16. 4.5 bits a weight.
/// </summary>
public static unsafe class Int4Weights
{
    public const int Group = 32;

    /// <summary>Bytes of one group's codes.</summary>
    public const int GroupBytes = Group / 2;

    public static long Groups(long inFeatures) => (inFeatures + Group - 1) / Group;

    /// <summary>The shape the codes of an [out, in] weight are stored in.</summary>
    public static long[] PackedShape(long outFeatures, long inFeatures) => [outFeatures, Groups(inFeatures) * GroupBytes];

    public static long[] ScaleShape(long outFeatures, long inFeatures) => [outFeatures, Groups(inFeatures)];

    // Rows quantized at a time, so the fp32 temporaries stay small whatever the weight's size.
    private const long ChunkValues = 1L << 22;

    /// <summary>Quantizes a [out, in] weight (any float dtype): the codes as bytes [out, groups · 16] and fp16 scales [out, groups].</summary>
    public static (Tensor Packed, Tensor Scale) Quantize(Tensor weight)
    {
        var (rows, cols) = (weight.shape[0], weight.shape[1]);
        var groups = Groups(cols);
        var packed = empty(PackedShape(rows, cols), ScalarType.Byte, weight.device);
        var scale = empty(ScaleShape(rows, cols), ScalarType.Float16, weight.device);
        var chunk = Math.Max(1, ChunkValues / Math.Max(1, groups * Group));
        for (long r = 0; r < rows; r += chunk)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(chunk, rows - r);
            var w = weight.narrow(0, r, n).to(ScalarType.Float32);
            if (groups * Group != cols)
                w = nn.functional.pad(w, [0, groups * Group - cols]);
            w = w.view(n, groups, Group);
            var m = w.gather(2, w.abs().argmax(2, keepdim: true));
            // Rounded to fp16 before the codes are chosen, so the codes fit the scale as stored; a group of zeros (or one
            // whose scale underflows fp16) gets scale 1 and all codes 8.
            var d = m.div(-8f).clamp(-65504f, 65504f).to(ScalarType.Float16);
            d = where(d.eq(0), ones_like(d), d);
            var q = w.div(d.to(ScalarType.Float32)).round_().add_(8).clamp_(0, 15).to(ScalarType.Byte);
            var bytes = q.narrow(2, 0, GroupBytes).bitwise_or(q.narrow(2, GroupBytes, GroupBytes).bitwise_left_shift(4));
            packed.narrow(0, r, n).copy_(bytes.view(n, groups * GroupBytes));
            scale.narrow(0, r, n).copy_(d.view(n, groups));
        }
        return (packed, scale);
    }

    /// <summary>
    /// The [out, <paramref name="inFeatures"/>] weight the codes stand for, in <paramref name="dtype"/> (fp32 or bf16):
    /// each (q − 8) · d in fp32, then rounded. Prompts do this for a block of rows at a time, reading half a byte a weight.
    /// </summary>
    public static Tensor Dequantize(Tensor packed, Tensor scale, long inFeatures, ScalarType dtype)
    {
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16) || packed.device_type != DeviceType.CPU
            || dtype == ScalarType.BFloat16 && !Avx2.IsSupported)
        {
            using var fp32 = Dequantize(packed.cpu(), scale.cpu(), inFeatures, ScalarType.Float32);
            return fp32.to(dtype, packed.device);
        }
        var rows = packed.shape[0];
        var groups = (int)scale.shape[1];
        using var p = packed.contiguous();
        using var s = scale.contiguous();
        var result = empty([rows, inFeatures], dtype);
        var (pPtr, sPtr, rPtr) = (TensorMemory.Address(p), TensorMemory.Address(s), TensorMemory.Address(result));
        var bf16 = dtype == ScalarType.BFloat16;
        var cols = (int)inFeatures;
        var full = cols / Group;
        ParallelRows.For((int)rows, inFeatures * 3, (start, end) =>
        {
            var scales = new float[groups];
            var tail = new float[Group];
            fixed (float* sc = scales, t = tail)
                for (var o = start; o < end; o++)
                {
                    HalfToSingle((ushort*)sPtr + (long)o * groups, sc, groups);
                    var codes = (byte*)pPtr + (long)o * groups * GroupBytes;
                    var at = (long)o * cols;
                    for (var g = 0; g < full; g++)
                    {
                        if (bf16)
                            GroupToBf16(codes + g * GroupBytes, sc[g], (ushort*)rPtr + at + g * Group);
                        else
                            Store((float*)rPtr + at + g * Group, Weights256(codes + g * GroupBytes, sc[g]));
                    }
                    if (full < groups)
                    {
                        // The partial last group: through a buffer, its padding dropped.
                        Store(t, Weights256(codes + full * GroupBytes, sc[full]));
                        for (var j = 0; j < cols - full * Group; j++)
                        {
                            if (bf16)
                                ((ushort*)rPtr)[at + full * Group + j] = Int8Weights.RoundToBf16(t[j]);
                            else
                                ((float*)rPtr)[at + full * Group + j] = t[j];
                        }
                    }
                }
        });
        return result;
    }

    /// <summary>A group's weights, (q − 8) · d, 8 at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) Weights256(byte* codes, float d)
    {
        var (scale, offset) = (Vector256.Create(d), Vector256.Create(-8 * d));
        var (q0, q1, q2, q3) = Codes256(codes);
        return (Vector256.FusedMultiplyAdd(q0, scale, offset), Vector256.FusedMultiplyAdd(q1, scale, offset),
            Vector256.FusedMultiplyAdd(q2, scale, offset), Vector256.FusedMultiplyAdd(q3, scale, offset));
    }
    /// <summary>A group's 16 bytes as its 32 codes in fp32, 8 at a time: weights 0–7, 8–15, 16–23, 24–31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) Codes256(byte* codes)
    {
        var bytes = Vector256.WidenLower(Vector128.Load(codes).ToVector256Unsafe());
        var (b0, b1) = (Vector256.WidenLower(bytes).AsInt32(), Vector256.WidenUpper(bytes).AsInt32());
        var low = Vector256.Create(15);
        return (Vector256.ConvertToSingle(b0 & low), Vector256.ConvertToSingle(b1 & low),
            Vector256.ConvertToSingle(Vector256.ShiftRightLogical(b0, 4)), Vector256.ConvertToSingle(Vector256.ShiftRightLogical(b1, 4)));
    }

    /// <summary>
    /// fp16 bits to fp32, exact for every finite value (subnormals included): the bits moved into fp32's fields and
    /// multiplied by 2^112, the difference of the exponent biases.
    /// </summary>
    internal static void HalfToSingle(ushort* half, float* single, int count)
    {
        var i = 0;
        var magic = Vector256.Create(0x77800000u).AsSingle();
        for (; i + 8 <= count; i += 8)
        {
            var h = Vector256.WidenLower(Vector128.Load(half + i).ToVector256Unsafe());
            var magnitude = Vector256.ShiftLeft(h & Vector256.Create(0x7FFFu), 13).AsSingle() * magic;
            (magnitude.AsUInt32() | Vector256.ShiftLeft(h & Vector256.Create(0x8000u), 16)).AsSingle().Store(single + i);
        }
        for (; i < count; i++)
            single[i] = (float)BitConverter.UInt16BitsToHalf(half[i]);
    }

    private static void Store(float* w, (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) weights)
    {
        weights.Item1.Store(w);
        weights.Item2.Store(w + 8);
        weights.Item3.Store(w + 16);
        weights.Item4.Store(w + 24);
    }

    // The codes' offsets (q − 8) for q = 0..7 and 8..15.
    private static readonly Vector256<float> LowerCodes = Vector256.Create(-8f, -7f, -6f, -5f, -4f, -3f, -2f, -1f);
    private static readonly Vector256<float> UpperCodes = Vector256.Create(0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f);

    // Per 128-bit lane: the low bytes of its eight 16-bit values, then their high bytes.
    private static readonly Vector256<byte> SplitBytes = Vector256.Create(
        (byte)0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);

    /// <summary>
    /// A group as bf16: a group has only 16 distinct weights, so its 16 (q − 8) · d (exact in fp32) are rounded once into a
    /// table and each code looks its value up (a byte shuffle on the table's low bytes and one on its high bytes), the same
    /// bits as rounding each weight, at a fraction of the instructions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GroupToBf16(byte* codes, float d, ushort* row)
    {
        var scale = Vector256.Create(d);
        var table = Vector256.Narrow(Int8Weights.RoundToBf16(LowerCodes * scale), Int8Weights.RoundToBf16(UpperCodes * scale));
        // [low bytes of values 0–7, high bytes of 0–7, low of 8–15, high of 8–15] → [low bytes 0–15, high bytes 0–15].
        var split = Avx2.Permute4x64(Avx2.Shuffle(table.AsByte(), SplitBytes).AsUInt64(), 0b11_01_10_00).AsByte();
        var (lowBytes, highBytes) = (Avx2.Permute2x128(split, split, 0x00), Avx2.Permute2x128(split, split, 0x11));
        var bytes = Vector128.Load(codes);
        var mask = Vector128.Create((byte)15);
        var q = Vector256.Create(bytes & mask, Vector128.ShiftRightLogical(bytes.AsUInt16(), 4).AsByte() & mask);
        var (low, high) = (Avx2.Shuffle(lowBytes, q), Avx2.Shuffle(highBytes, q));
        // Interleaved per lane: values 0–7 and 16–23, then 8–15 and 24–31.
        var (first, second) = (Avx2.UnpackLow(low, high), Avx2.UnpackHigh(low, high));
        Avx2.Permute2x128(first, second, 0x20).AsUInt16().Store(row);
        Avx2.Permute2x128(first, second, 0x31).AsUInt16().Store(row + 16);
    }
}
