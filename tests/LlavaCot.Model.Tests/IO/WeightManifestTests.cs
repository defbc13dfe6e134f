using LlavaCot.Model.Config;
using LlavaCot.Model.IO;
using LlavaCot.Model.Layers;
using LlavaCot.Tests;

namespace LlavaCot.Model.Tests.IO;

public class WeightManifestTests
{
    [Fact]
    public void The_manifest_names_every_checkpoint_tensor_with_its_shape()
    {
        var manifest = WeightManifest.Of(MllamaConfig.Load(Fixtures.MllamaTiny));
        using var checkpoint = Checkpoint.Open(Fixtures.MllamaTiny);
        var stored = checkpoint.Names.ToDictionary(n => n, n => checkpoint.Entry(n).Shape);
        Assert.Equal(stored.Keys.Order(StringComparer.Ordinal), manifest.Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.All(manifest, e => Assert.Equal(stored[e.Name], e.Shape));
    }

    [Fact]
    public void The_real_scale_config_is_listed_without_allocating_its_weights()
    {
        // 2 B parameters: 8 GB if any were allocated in fp32; the meta device holds none.
        var manifest = WeightManifest.Of(MllamaConfig.Load(Fixtures.Path("mllama-bench-config")));
        Assert.InRange(manifest.Sum(e => e.Elements), 2_000_000_000L, 2_200_000_000L);
        Assert.Contains(manifest, e => e.Name == "language_model.model.embed_tokens.weight" && e.Shape[1] == 4096);
    }

    [Fact]
    public void The_rehearsal_config_has_the_11B_parameter_count()
    {
        // Llama-3.2-11B-Vision: 10.67 B parameters, 21.3 GB in bf16.
        var manifest = WeightManifest.Of(MllamaConfig.Load(Path.Combine(Fixtures.RepoRoot, "models", "rehearsal-11b")));
        Assert.InRange(manifest.Sum(e => e.Elements), 10_600_000_000L, 10_700_000_000L);
    }
}
