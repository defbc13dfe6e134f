using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// Weight-only int8 quantization, symmetric per output channel: each row of a linear weight is stored as int8 values
/// and one fp32 scale, w ≈ q · scale with scale = max |w_row| / 127 (rows of zeros get scale 1).
/// </summary>
public static unsafe class Int8Weights
{
    /// <summary>The name a quantized weight's scales are stored under beside it (as compressed-tensors names them).</summary>
    public static string ScaleName(string weightName) => weightName + ScaleSuffix;

    /// <summary>The weight a name would hold the scales of (the name without <c>_scale</c>), or null when it is no such name.</summary>
    public static string? WeightOfScale(string name) =>
        name.EndsWith(ScaleSuffix, StringComparison.Ordinal) ? name[..^ScaleSuffix.Length] : null;

    private const string ScaleSuffix = "_scale";

    // Rows quantized at a time: the fp32 temporaries of a whole output head (the 11B's: 0.5 G values) would take GBs.
    private const long ChunkValues = 1L << 24;

    /// <summary>
    /// Quantizes a [out, in] weight (any float dtype): int8 [out, in] and fp32 scales [out]. Rows are independent, so
    /// they go a block at a time and the fp32 temporaries stay small whatever the weight's size.
    /// </summary>
    public static (Tensor Weight, Tensor Scale) Quantize(Tensor weight)
    {
        var (rows, cols) = (weight.shape[0], weight.shape[1]);
        var q = empty([rows, cols], ScalarType.Int8, weight.device);
        var scale = empty([rows], ScalarType.Float32, weight.device);
        var chunk = Math.Max(1, ChunkValues / Math.Max(1, cols));
        for (long r = 0; r < rows; r += chunk)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(chunk, rows - r);
            var w = weight.narrow(0, r, n).to(ScalarType.Float32);
            var s = w.abs().amax([1]).div_(127f);
            s = where(s.eq(0), ones_like(s), s);
            q.narrow(0, r, n).copy_(w.div(s.unsqueeze(1)).round_().clamp_(-127, 127).to(ScalarType.Int8));
            scale.narrow(0, r, n).copy_(s);
        }
        return (q, scale);
    }

    /// <summary>
    /// The weight the int8 values stand for, in <paramref name="dtype"/>: each value times its row's scale in fp32, then
    /// rounded to <paramref name="dtype"/>. A prompt does this for every weight it meets, so on the CPU, into bf16 or fp32,
    /// one pass converts, scales and rounds (reading 1 byte a value, as libtorch's three passes of whole tensors did not);
    /// elsewhere a block of rows at a time, so that no fp32 copy of the whole weight exists beside the result (for the
    /// 11B's output head it would be 2 GB).
    /// </summary>
    public static Tensor Dequantize(Tensor weight, Tensor scale, ScalarType dtype)
    {
        var (rows, cols) = (weight.shape[0], weight.shape[1]);
        var result = empty([rows, cols], dtype, weight.device);
        if (dtype is ScalarType.BFloat16 or ScalarType.Float32 && Avx2.IsSupported && TensorMemory.Addressable(weight)
            && TensorMemory.Addressable(result) && scale.dtype == ScalarType.Float32 && TensorMemory.Addressable(scale))
        {
            var (q, s, r) = (TensorMemory.Address(weight), TensorMemory.Address(scale), TensorMemory.Address(result));
            var bf16 = dtype == ScalarType.BFloat16;
            ParallelRows.For((int)rows, cols * 3, (start, end) =>
            {
                for (var row = start; row < end; row++)
                {
                    var values = (sbyte*)q + (long)row * cols;
                    if (bf16)
                        RowToBf16(values, ((float*)s)[row], (ushort*)r + (long)row * cols, (int)cols);
                    else
                        RowToFp32(values, ((float*)s)[row], (float*)r + (long)row * cols, (int)cols);
                }
            });
            return result;
        }
        var chunk = Math.Max(1, ChunkValues / Math.Max(1, cols));
        for (long r = 0; r < rows; r += chunk)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(chunk, rows - r);
            result.narrow(0, r, n).copy_(weight.narrow(0, r, n).to(ScalarType.Float32).mul_(scale.narrow(0, r, n).unsqueeze(1)));
        }
        return result;
    }

    private static Vector256<float> Widen8(sbyte* values, Vector256<float> scale) =>
        Avx.Multiply(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(values)), scale);

    private static void RowToFp32(sbyte* values, float scale, float* row, int cols)
    {
        var s = Vector256.Create(scale);
        var j = 0;
        for (; j + 8 <= cols; j += 8)
            Avx.Store(row + j, Widen8(values + j, s));
        for (; j < cols; j++)
            row[j] = values[j] * scale;
    }

    private static void RowToBf16(sbyte* values, float scale, ushort* row, int cols)
    {
        var s = Vector256.Create(scale);
        var j = 0;
        for (; j + 16 <= cols; j += 16)
            Vector256.Narrow(RoundToBf16(Widen8(values + j, s)), RoundToBf16(Widen8(values + j + 8, s))).Store(row + j);
        for (; j < cols; j++)
            row[j] = RoundToBf16(values[j] * scale);
    }

    /// <summary>fp32 → bf16 bits rounded to nearest even, as libtorch rounds (the values are finite: int8 times a finite scale).</summary>
    internal static Vector256<uint> RoundToBf16(Vector256<float> x)
    {
        var bits = x.AsUInt32();
        return (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
    }

    internal static ushort RoundToBf16(float x)
    {
        var bits = BitConverter.SingleToUInt32Bits(x);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }
}
