using System.Runtime.CompilerServices;

namespace LlavaCot.Server.Tests;

internal static class TorchThreads
{
    // The tiny model gains nothing from intra-op threads, and on a shared 2-core machine OpenMP barriers stall for
    // seconds when another process holds the cores; one thread keeps these tests' timings steady.
    [ModuleInitializer]
    internal static void OneThread()
    {
        LlavaCot.Model.TorchNative.Initialize();
        TorchSharp.torch.set_num_threads(1);
    }
}
