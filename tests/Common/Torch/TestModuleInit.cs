using System.Runtime.CompilerServices;

namespace LlavaCot.Tests;

internal static class TestModuleInit
{
    // Tests may touch torch before any product code runs; libtorch must see the settings first.
    [ModuleInitializer]
    internal static void Init() => LlavaCot.Model.TorchNative.Initialize();
}
