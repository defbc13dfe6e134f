using TorchSharp;

namespace LlavaCot.Model.IO;

/// <summary>The safetensors dtype names we read, with their torch type and element size.</summary>
public static class SafetensorsDType
{
    private static readonly Dictionary<string, (torch.ScalarType Type, int Size)> Known = new()
    {
        ["F64"] = (torch.ScalarType.Float64, 8),
        ["F32"] = (torch.ScalarType.Float32, 4),
        ["F16"] = (torch.ScalarType.Float16, 2),
        ["BF16"] = (torch.ScalarType.BFloat16, 2),
        ["I64"] = (torch.ScalarType.Int64, 8),
        ["I32"] = (torch.ScalarType.Int32, 4),
        ["I16"] = (torch.ScalarType.Int16, 2),
        ["I8"] = (torch.ScalarType.Int8, 1),
        ["U8"] = (torch.ScalarType.Byte, 1),
        ["BOOL"] = (torch.ScalarType.Bool, 1),
    };

    public static bool IsKnown(string name) => Known.ContainsKey(name);

    public static torch.ScalarType ScalarType(string name) => Known[name].Type;

    public static int ElementSize(string name) => Known[name].Size;

    public static IEnumerable<string> Names => Known.Keys;

    /// <summary>The safetensors name of a torch dtype, or null for one the format has no name for here.</summary>
    public static string? NameOf(torch.ScalarType type) =>
        Known.FirstOrDefault(p => p.Value.Type == type).Key;
}
