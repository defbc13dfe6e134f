using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Runtime;

/// <summary>Parses the device and dtype settings.</summary>
public static class TorchSettings
{
    public static Device ParseDevice(string value)
    {
        var v = value.Trim().ToLowerInvariant();
        if (v == "auto")
            return cuda.is_available() ? CUDA : CPU;
        if (v == "cpu")
            return CPU;
        if (v.StartsWith("cuda", StringComparison.Ordinal))
        {
            if (!torch.TryInitializeDeviceType(DeviceType.CUDA) || !cuda.is_available())
                throw new ArgumentException($"device '{value}': CUDA is not available in this build (TorchSharp-cpu)");
            return new Device(v);
        }
        throw new ArgumentException($"device '{value}' is not one of cpu, cuda, cuda:N, auto");
    }

    public static ScalarType ParseDType(string value) => value.Trim().ToLowerInvariant() switch
    {
        "float32" or "fp32" or "f32" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        _ => throw new ArgumentException($"dtype '{value}' is not one of float32, bfloat16"),
    };
}
