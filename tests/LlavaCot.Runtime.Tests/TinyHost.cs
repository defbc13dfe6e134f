using LlavaCot.Tests;

namespace LlavaCot.Runtime.Tests;

/// <summary>The mllama-tiny model behind the runtime, loaded once per test class.</summary>
public sealed class TinyHost : IDisposable
{
    public ModelHost Host { get; } = ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = Fixtures.MllamaTiny, Device = "cpu" }).GetAwaiter().GetResult();

    public static byte[] Image(string name = "img0_50x30_rgb.png") => File.ReadAllBytes(Fixtures.Path("mllama-tiny", "images", name));

    public void Dispose() => Host.Dispose();
}
