using LlavaCot.Tests;

namespace LlavaCot.Runtime.Tests;

/// <summary>The mllama-tiny model behind the runtime, loaded once per test class.</summary>
public sealed class TinyHost : IDisposable
{
    public TinyHost() : this(null)
    {
    }

    private TinyHost(long? imageCacheBytes, string dtype = "auto", string bf16Support = "auto") =>
        Host = ModelHost.LoadAsync(new RuntimeOptions
            {
                ModelDirectory = Fixtures.MllamaTiny, Device = "cpu", ImageCacheBytes = imageCacheBytes, DType = dtype, Bf16Support = bf16Support,
            })
            .GetAwaiter().GetResult();

    /// <summary>A host whose shared image cache has <paramref name="bytes"/> of room (0: off).</summary>
    public static TinyHost WithImageCache(long bytes) => new(bytes);

    /// <summary>The tiny model computing in bf16 (as a CPU with bf16 arithmetic would, on any CPU).</summary>
    public static TinyHost Bf16() => new(null, "bfloat16", "native");

    /// <summary>The tiny model with bf16 weights computed in fp32, as on a CPU without bf16 arithmetic.</summary>
    public static TinyHost Bf16WeightsFp32Compute() => new(null, "bfloat16", "emulated");

    public ModelHost Host { get; }

    public static byte[] Image(string name = "img0_50x30_rgb.png") => File.ReadAllBytes(Fixtures.Path("mllama-tiny", "images", name));

    public void Dispose() => Host.Dispose();
}
