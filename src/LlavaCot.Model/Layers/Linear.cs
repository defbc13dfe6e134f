using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// y = x Wᵀ + b over the last axis, W dense (the compute dtype) or int8 with per-output-channel scales. Inputs are
/// flattened to 2-D first: libtorch's bf16 GEMM takes a slow path (about 50× slower, measured) for a 3-D input whose
/// leading stride is unusual, such as the last position narrowed out of a prompt. Decode steps (<see cref="DecodeScope"/>)
/// run so that each row gets the same bits whatever shares the step (fixed-order kernels, or libtorch's GEMM padded to a
/// safe row count, <see cref="RowInvariantGemm"/>); prompts go to libtorch's GEMM, an int8 weight dequantized for the call.
/// A weight kept narrower than the compute dtype (bf16 computed in fp32 on a CPU without bf16 arithmetic) is read as
/// kept by the decode kernels and widened for libtorch's GEMM.
/// </summary>
public sealed class Linear : nn.Module
{
    private readonly Parameter? weight;
    private readonly Tensor? weight_int8;
    private readonly Tensor? weight_scale;
    private readonly Parameter? bias;

    public Linear(Parameter weight, Parameter? bias) : base(nameof(Linear))
    {
        this.weight = weight;
        this.bias = bias;
        RegisterComponents();
    }

    /// <param name="weightInt8">[out, in] int8.</param>
    /// <param name="scale">[out] fp32.</param>
    public Linear(Tensor weightInt8, Tensor scale, Parameter? bias) : base(nameof(Linear))
    {
        weight_int8 = weightInt8;
        weight_scale = scale;
        this.bias = bias;
        RegisterComponents();
    }

    /// <summary>
    /// Prompt inputs this short (the last position, for its logits) are read through the decode kernels when the weight is
    /// int8 or narrower than the compute dtype: widening the whole weight for them costs more than reading it (for the
    /// 11B's output head, a 2 GB fp32 temporary per prompt).
    /// </summary>
    public const int FewRows = 4;

    // Values of a weight block widened at a time for a prompt: 4 MB in fp32, which stays in cache for its product.
    private const long WidenBlockValues = 1L << 20;

    // Inputs up to this many rows are bound by reading the weight and widen it block by block; longer ones (the vision
    // tower's thousands of rows) are bound by the GEMM, which runs faster on the whole widened weight (block by block,
    // the bench config's tower with bf16 weights computed in fp32 took 1.32× the fp32 tower's time; whole, 1.04×).
    private const int BlockwiseRows = 256;

    public bool IsInt8 => weight_int8 is not null;

    /// <summary>Bytes of the weight as stored (int8 values and their scales, or the dense weight).</summary>
    public long WeightBytes => weight is not null
        ? weight.numel() * weight.element_size()
        : weight_int8!.numel() + weight_scale!.numel() * weight_scale.element_size();

    /// <summary>
    /// Measures now what the first decode step would otherwise: the row count that makes libtorch's GEMM invariant for
    /// this weight, when decode steps in <paramref name="dtype"/> run it there.
    /// </summary>
    public void PrepareDecode(ScalarType dtype)
    {
        if (weight is not null && weight.dtype == dtype && !Fp32Gemv.Takes(weight))
            RowInvariantGemm.RowMultiple(weight, bias);
    }

    public Tensor Forward(Tensor x)
    {
        var shape = x.shape;
        using var flat = x.reshape(-1, shape[^1]);
        using var y = weight is not null ? Dense(flat, weight) : Quantized(flat, weight_int8!, weight_scale!);
        return y.view([.. shape[..^1], y.shape[^1]]);
    }

    /// <summary>
    /// Decode rows in fp32 go to our fixed-order kernel (libtorch's fp32 GEMM is only invariant padded to 4 rows, and
    /// then slow); in bf16 to libtorch's GEMM padded to its invariant row count, which keeps up at several rows where
    /// our kernel does not, else to our kernel.
    /// </summary>
    private Tensor Dense(Tensor flat, Tensor w)
    {
        if (w.dtype != flat.dtype)
            return Widened(flat, w);
        var kernels = DecodeScope.Active ? DecodeScope.Kernels : DecodeKernels.Libtorch;
        if (kernels != DecodeKernels.Libtorch && Fp32Gemv.Handles(flat, w))
            return Fp32Gemv.Forward(flat, w, bias);
        if (kernels == DecodeKernels.Invariant && flat.shape[0] <= RowInvariantGemm.MaxRows
            && RowInvariantGemm.RowMultiple(w, bias) is > 0 and var multiple)
            return RowInvariantGemm.Forward(flat, w, bias, multiple);
        if (kernels != DecodeKernels.Libtorch && Bf16Gemv.Handles(flat, w))
            return Bf16Gemv.Forward(flat, w, bias);
        return nn.functional.linear(flat, w, bias);
    }

    /// <summary>
    /// A weight kept in bf16 under fp32 compute: decode rows read it as kept (invariant, fixed order); a decode step whose
    /// shape that kernel does not take widens a copy and goes on as an fp32 weight would; prompts widen it block by block.
    /// </summary>
    private Tensor Widened(Tensor flat, Tensor w)
    {
        if (ReadsAsKept(flat) && Bf16Gemv.Handles(flat, w))
            return Bf16Gemv.Forward(flat, w, bias);
        if (!DecodeScope.Active)
            return Blockwise(flat, w.shape[0], (start, count) => w.narrow(0, start, count).to(flat.dtype));
        using var wide = w.to(flat.dtype);
        return Dense(flat, wide);
    }

    private Tensor Quantized(Tensor flat, Tensor q, Tensor scale)
    {
        if (ReadsAsKept(flat) && Int8Gemv.Handles(flat, q))
            return Int8Gemv.Forward(flat, q, scale, bias);
        return Blockwise(flat, q.shape[0], (start, count) => Int8Weights.Dequantize(q.narrow(0, start, count), scale.narrow(0, start, count), flat.dtype));
    }

    /// <summary>
    /// The product with a compact weight (int8, or bf16 under fp32 compute). A short prompt widens it a block of output rows
    /// at a time, each block multiplied while it is still in cache: it reads the compact bytes once, instead of writing a
    /// widened copy of the whole weight and reading it back (for bf16 widened to fp32, 10 bytes of traffic per value
    /// instead of 2). Long inputs widen the whole weight.
    /// </summary>
    private Tensor Blockwise(Tensor flat, long outFeatures, Func<long, long, Tensor> widen)
    {
        var block = Math.Max(1, WidenBlockValues / flat.shape[1]);
        if (block >= outFeatures || flat.shape[0] > BlockwiseRows)
        {
            using var whole = widen(0, outFeatures);
            return nn.functional.linear(flat, whole, bias);
        }
        var y = empty([flat.shape[0], outFeatures], flat.dtype, flat.device);
        for (long start = 0; start < outFeatures; start += block)
        {
            using var scope = NewDisposeScope();
            var count = Math.Min(block, outFeatures - start);
            y.narrow(1, start, count).copy_(nn.functional.linear(flat, widen(start, count), bias?.narrow(0, start, count)));
        }
        return y;
    }

    /// <summary>Whether a weight kept compact (int8, or narrower than the compute dtype) is read as kept rather than widened.</summary>
    private static bool ReadsAsKept(Tensor flat) =>
        DecodeScope.Active ? DecodeScope.Kernels != DecodeKernels.Libtorch : flat.shape[0] <= FewRows;
}
