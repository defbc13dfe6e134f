using static TorchSharp.torch;

namespace LlavaCot.Model.Layers;

/// <summary>
/// y = x Wᵀ + b over the last axis, W dense (the compute dtype), int8 with per-output-channel scales, or 4-bit in
/// groups with fp16 scales (<see cref="Int4Weights"/>). Inputs are
/// flattened to 2-D first: libtorch's bf16 GEMM takes a slow path (about 50× slower, measured) for a 3-D input whose
/// leading stride is unusual, such as the last position narrowed out of a prompt. Decode steps (<see cref="DecodeScope"/>)
/// run so that each row gets the same bits whatever shares the step (fixed-order kernels, or libtorch's GEMM padded to a
/// safe row count, <see cref="RowInvariantGemm"/>); prompts go to libtorch's GEMM, a quantized weight dequantized for the call.
/// A weight kept narrower than the compute dtype (bf16 computed in fp32 on a CPU without bf16 arithmetic) is read as
/// kept by the decode kernels and widened for libtorch's GEMM.
/// </summary>
public sealed class Linear : nn.Module
{
    private readonly Parameter? weight;
    private readonly Tensor? weight_int8;
    private readonly Tensor? weight_int4;
    private readonly Tensor? weight_scale;
    private readonly Parameter? bias;
    private readonly long _inFeatures;

    public Linear(Parameter weight, Parameter? bias) : base(nameof(Linear))
    {
        this.weight = weight;
        this.bias = bias;
        RegisterComponents();
    }

    /// <summary>A quantized weight [out, <paramref name="inFeatures"/>] (<see cref="QuantizedWeight"/>).</summary>
    public Linear(QuantizedWeight weight, long inFeatures, Parameter? bias) : base(nameof(Linear))
    {
        if (weight.Format == Quantization.Int4)
            weight_int4 = weight.Values;
        else
            weight_int8 = weight.Values;
        weight_scale = weight.Scale;
        _inFeatures = inFeatures;
        this.bias = bias;
        RegisterComponents();
    }

    /// <summary>
    /// Prompt inputs this short (the last position, for its logits) are read through the decode kernels when the weight is
    /// quantized or narrower than the compute dtype: widening the whole weight for them costs more than reading it (for the
    /// 11B's output head, a 2 GB fp32 temporary per prompt).
    /// </summary>
    public const int FewRows = 4;

    // Values of a weight block widened at a time for a prompt: 4 MB in fp32, which stays in cache for its product.
    private const long WidenBlockValues = 1L << 20;

    // Inputs up to this many rows are bound by reading the weight and widen it block by block; longer ones (the vision
    // tower's thousands of rows) are bound by the GEMM, which runs faster on the whole widened weight (block by block,
    // the bench config's tower with bf16 weights computed in fp32 took 1.32× the fp32 tower's time; whole, 1.04×).
    private const int BlockwiseRows = 256;

    /// <summary>How the weight is kept.</summary>
    public Quantization Format => weight_int4 is not null ? Quantization.Int4 : weight_int8 is not null ? Quantization.Int8 : Quantization.None;

    /// <summary>Bytes of the weight as stored (quantized values and their scales, or the dense weight).</summary>
    public long WeightBytes => weight is not null
        ? weight.numel() * weight.element_size()
        : (weight_int8 ?? weight_int4)!.numel() + weight_scale!.numel() * weight_scale.element_size();

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
        using var y = weight is not null ? Dense(flat, weight)
            : weight_int4 is not null ? Int4(flat, weight_int4, weight_scale!)
            : Quantized(flat, weight_int8!, weight_scale!);
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

    private Tensor Int4(Tensor flat, Tensor packed, Tensor scale)
    {
        if (ReadsAsKept(flat) && Int4Gemv.Handles(flat, packed))
            return Int4Gemv.Forward(flat, packed, scale, bias);
        return Blockwise(flat, packed.shape[0], (start, count) =>
            Int4Weights.Dequantize(packed.narrow(0, start, count), scale.narrow(0, start, count), _inFeatures, flat.dtype));
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

    /// <summary>Whether a weight kept compact (quantized, or narrower than the compute dtype) is read as kept rather than widened.</summary>
    private static bool ReadsAsKept(Tensor flat) =>
        DecodeScope.Active ? DecodeScope.Kernels != DecodeKernels.Libtorch : flat.shape[0] <= FewRows;
}
