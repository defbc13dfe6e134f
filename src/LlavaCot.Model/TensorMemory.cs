using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model;

/// <summary>Reading a CPU tensor's memory in place, as the fixed-order kernels and the sampler do.</summary>
internal static unsafe class TensorMemory
{
    /// <summary>
    /// Whether the tensor's memory is one contiguous CPU block that TorchSharp's byte view can span: that view is
    /// indexed by int, so a tensor above 2 GiB (an fp32 output head of a large vocabulary) is not.
    /// </summary>
    public static bool Addressable(Tensor t) =>
        t.device_type == DeviceType.CPU && t.is_contiguous() && t.numel() * t.element_size() <= int.MaxValue;

    /// <summary>The address of an <see cref="Addressable"/> tensor's first element (valid while the tensor lives).</summary>
    public static nint Address(Tensor t) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));
}
