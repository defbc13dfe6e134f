using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// libtorch's GEMM for decode rows, padded so that each row gets the same bits whatever else shares the step.
/// The GEMM's kernel, and with it the order in which a row's sum is reduced, depends on the number of rows: on an AMD
/// EPYC with avx512_bf16, bf16 rows came out identical for every count from 2 to 64 but not alone, fp32 rows for
/// multiples of 4 only. Which counts are safe depends on the CPU, libtorch's build, the dtype and the weight's shape,
/// so it is measured once per weight shape, on first use: the smallest multiple m (1 to <see cref="LargestMultiple"/>)
/// such that blocks of every multiple of m rows up to <see cref="MaxRows"/> give each row exactly the bits it gets in
/// the largest block. Decode rows are then padded with zero rows to a multiple of m. A shape with no such m is left to
/// the fixed-order kernels.
/// </summary>
public static class RowInvariantGemm
{
    public const int MaxRows = DecodeScope.MaxRows;

    /// <summary>The largest row multiple tried (GEMM kernels block rows by 4, 6, 8 or 16 on common CPUs).</summary>
    public const int LargestMultiple = 16;

    private static readonly ConcurrentDictionary<Key, int> Found = new();

    private readonly record struct Key(ScalarType DType, DeviceType Device, long Out, long In, bool Bias, int Threads);

    /// <summary>
    /// The row multiple that makes libtorch's GEMM give this weight's rows the same bits in any company, or 0 when none
    /// does; measured on the first call for the weight's dtype, shape and the thread count, then remembered.
    /// </summary>
    public static int RowMultiple(Tensor weight, Tensor? bias) =>
        Found.GetOrAdd(new Key(weight.dtype, weight.device_type, weight.shape[0], weight.shape[1], bias is not null, get_num_threads()),
            _ => Probe(weight, bias));

    /// <summary>What has been measured so far: "bfloat16 [4096, 14336]: multiple 2" per shape ("none": no multiple works).</summary>
    public static IReadOnlyList<string> Measured =>
        Found.OrderBy(p => p.Key.Out).ThenBy(p => p.Key.In)
            .Select(p => $"{p.Key.DType.ToString().ToLowerInvariant()} [{p.Key.Out}, {p.Key.In}]{(p.Key.Bias ? " with bias" : "")}: " +
                         (p.Value > 0 ? $"multiple {p.Value}" : "none")).ToList();

    /// <param name="x2d">[rows, in], 1 ≤ rows ≤ <see cref="MaxRows"/>.</param>
    /// <param name="multiple">From <see cref="RowMultiple"/>, above 0.</param>
    /// <returns>[rows, out].</returns>
    public static Tensor Forward(Tensor x2d, Tensor weight, Tensor? bias, int multiple)
    {
        var rows = x2d.shape[0];
        if (rows is < 1 or > MaxRows || multiple < 1)
            throw new ArgumentException($"RowInvariantGemm takes 1..{MaxRows} rows and a multiple above 0, got {rows} rows and {multiple}");
        var padded = (rows + multiple - 1) / multiple * multiple;
        if (padded == rows)
            return nn.functional.linear(x2d.contiguous(), weight, bias);
        using var scope = NewDisposeScope();
        var x = cat([x2d, zeros(padded - rows, x2d.shape[1], x2d.dtype, x2d.device)]);
        return nn.functional.linear(x, weight, bias).narrow(0, 0, rows).MoveToOuterDisposeScope();
    }

    private static int Probe(Tensor weight, Tensor? bias)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        using var generator = new Generator(20261127);
        var x = randn(MaxRows + LargestMultiple, weight.shape[1], ScalarType.Float32, generator: generator).to(weight.dtype, weight.device);
        for (var m = 1; m <= LargestMultiple; m++)
        {
            // Every block of a multiple of m rows against the largest one, each block's rows taken from its end so
            // that a row sits at another position in each.
            var largest = (MaxRows + m - 1) / m * m;
            using var all = nn.functional.linear(x.narrow(0, 0, largest), weight, bias);
            var same = true;
            for (var rows = m; rows < largest && same; rows += m)
            {
                var start = largest - rows;
                using var part = nn.functional.linear(x.narrow(0, start, rows), weight, bias);
                using var eq = part.equal(all.narrow(0, start, rows)).all();
                same = eq.item<bool>();
            }
            if (same)
                return m;
        }
        return 0;
    }
}
