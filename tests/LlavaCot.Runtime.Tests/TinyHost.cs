using LlavaCot.Tests;

namespace LlavaCot.Runtime.Tests;

/// <summary>The mllama-tiny model behind the runtime, loaded once per test class.</summary>
public sealed class TinyHost : IDisposable
{
    public TinyHost() : this(null)
    {
    }

    private TinyHost(long? imageCacheBytes, string dtype = "auto") =>
        Host = ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = Fixtures.MllamaTiny, Device = "cpu", ImageCacheBytes = imageCacheBytes, DType = dtype })
            .GetAwaiter().GetResult();

    /// <summary>A host whose shared image cache has <paramref name="bytes"/> of room (0: off).</summary>
    public static TinyHost WithImageCache(long bytes) => new(bytes);

    /// <summary>The tiny model computing in bf16.</summary>
    public static TinyHost Bf16() => new(null, "bfloat16");

    public ModelHost Host { get; }

    public static byte[] Image(string name = "img0_50x30_rgb.png") => File.ReadAllBytes(Fixtures.Path("mllama-tiny", "images", name));

    public void Dispose() => Host.Dispose();
}
