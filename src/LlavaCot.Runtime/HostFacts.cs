using System.Globalization;

namespace LlavaCot.Runtime;

/// <summary>
/// What the machine offers that the compute dtype and exact replay depend on: the CPU's instruction set flags and
/// the memory available now. Read from /proc; tests build their own.
/// </summary>
public sealed record HostFacts(IReadOnlySet<string> CpuFlags, long? AvailableMemoryBytes)
{
    /// <summary>Flags that change which libtorch kernels run, so results may differ in the last bits between machines.</summary>
    private static readonly string[] KernelFlags =
        ["avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"];

    /// <summary>bf16 dot products in hardware (AVX-512 BF16 or AMX); without them libtorch emulates bf16 matmuls.</summary>
    public bool NativeBf16 => CpuFlags.Contains("avx512_bf16") || CpuFlags.Contains("amx_bf16");

    /// <summary>The kernel-relevant flags present, space separated (recorded with each result).</summary>
    public string CpuFeatures => string.Join(' ', KernelFlags.Where(CpuFlags.Contains));

    public static HostFacts Read() => Parse(ReadOrEmpty("/proc/cpuinfo"), ReadOrEmpty("/proc/meminfo"));

    /// <summary>From the texts of /proc/cpuinfo (the first <c>flags</c> line) and /proc/meminfo (<c>MemAvailable</c>).</summary>
    public static HostFacts Parse(string cpuinfo, string meminfo)
    {
        var flags = cpuinfo.Split('\n').FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) is { } line && line.IndexOf(':') is var colon and >= 0
            ? line[(colon + 1)..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal)
            : new HashSet<string>(StringComparer.Ordinal);
        return new HostFacts(flags, MeminfoBytes(meminfo, "MemAvailable"));
    }

    /// <summary>A /proc/meminfo or /proc/self/status field in bytes ("Name:  123 kB", any whitespace), or null.</summary>
    public static long? MeminfoBytes(string text, string field)
    {
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(field + ":", StringComparison.Ordinal))
                continue;
            var parts = line[(field.Length + 1)..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                return null;
            return parts.Length > 1 && parts[1].Equals("kB", StringComparison.OrdinalIgnoreCase) ? value * 1024 : value;
        }
        return null;
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }
}
