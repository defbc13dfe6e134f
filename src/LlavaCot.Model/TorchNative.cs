using System.Runtime.InteropServices;

namespace LlavaCot.Model;

/// <summary>
/// Settings that libtorch reads from the native process environment once, at its first allocation.
/// Environment.SetEnvironmentVariable only changes .NET's copy, so they are set with libc's setenv.
/// </summary>
public static partial class TorchNative
{
    private static int _applied;

    /// <summary>Call before the first torch operation of the process; later calls do nothing.</summary>
    public static void Initialize()
    {
        if (Interlocked.Exchange(ref _applied, 1) == 1)
            return;
        // Transparent huge pages for large CPU tensors: allocation is ~20x faster on this kind of VM.
        if (Environment.GetEnvironmentVariable("THP_MEM_ALLOC_ENABLE") is null)
            SetEnv("THP_MEM_ALLOC_ENABLE", "1");
        // OpenMP workers that spin while idle starve everything else on a small machine (the web server's threads,
        // our own GEMV threads, other processes); sleeping workers measured no slower for decode and prefill here.
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null)
            SetEnv("OMP_WAIT_POLICY", "PASSIVE");
    }

    /// <summary>The value as libtorch sees it (the native environment).</summary>
    public static string? GetNativeVariable(string name)
    {
        var p = getenv(name);
        return p == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(p);
    }

    private static void SetEnv(string name, string value)
    {
        if (setenv(name, value, 1) != 0)
            throw new InvalidOperationException($"setenv({name}) failed");
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr getenv(string name);
}
