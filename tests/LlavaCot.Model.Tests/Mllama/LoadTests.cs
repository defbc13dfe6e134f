using System.Text.Json.Nodes;
using LlavaCot.Model.IO;
using LlavaCot.Model.Tests.IO;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Mllama;

public class LoadTests
{
    [Fact]
    public void Checkpoint_shapes_that_disagree_with_the_config_are_refused_by_name()
    {
        using var tmp = new TempDir();
        var config = JsonNode.Parse(File.ReadAllText(Fixtures.Path("mllama-tiny", "config.json")))!;
        config["text_config"]!["intermediate_size"] = (int)config["text_config"]!["intermediate_size"]! * 2;
        File.WriteAllText(tmp.File("config.json"), config.ToJsonString());
        File.Copy(Fixtures.Path("mllama-tiny", "model.safetensors"), tmp.File("model.safetensors"));
        var ex = Assert.Throws<SafetensorsException>(() => MllamaModel.Load(tmp.Path).Dispose());
        Assert.Matches(@"tensor 'language_model\.model\.layers\.\d+\.mlp\.(gate|up|down)_proj\.weight' has shape", ex.Message);
        Assert.Contains("config.json implies", ex.Message);
    }

    [Fact]
    public void Missing_weight_is_named()
    {
        using var tmp = new TempDir();
        File.Copy(Fixtures.Path("mllama-tiny", "config.json"), tmp.File("config.json"));
        var st = SafetensorsBytes.Read(Fixtures.Path("mllama-tiny", "model.safetensors"));
        st.Header.Remove("language_model.lm_head.weight");
        st.Write(tmp.File("model.safetensors"));
        var ex = Assert.Throws<SafetensorsException>(() => MllamaModel.Load(tmp.Path).Dispose());
        Assert.Contains("'language_model.lm_head.weight' is missing", ex.Message);
    }

    [Fact]
    public void Newer_transformers_weight_names_load_to_the_same_model()
    {
        using var tmp = new TempDir();
        File.Copy(Fixtures.Path("mllama-tiny", "config.json"), tmp.File("config.json"));
        var st = SafetensorsBytes.Read(Fixtures.Path("mllama-tiny", "model.safetensors"));
        foreach (var name in st.Header.Select(p => p.Key).Where(k => k != "__metadata__").ToList())
        {
            var renamed = name.StartsWith("language_model.model.") ? "model.language_model." + name["language_model.model.".Length..]
                : name.StartsWith("language_model.lm_head.") ? "lm_head." + name["language_model.lm_head.".Length..]
                : "model." + name;
            var entry = st.Header[name]!;
            st.Header.Remove(name);
            st.Header[renamed] = entry;
        }
        st.Write(tmp.File("model.safetensors"));

        using var legacy = MllamaModel.Load(Fixtures.MllamaTiny);
        using var current = MllamaModel.Load(tmp.Path);
        Assert.Empty(current.UnusedWeights);
        var a = legacy.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in current.named_parameters())
            TensorAssert.Equal(a[name], parameter, name);
    }

    [Fact]
    public void Parameters_carry_the_hf_names_and_dtype()
    {
        using var model = MllamaModel.Load(Fixtures.MllamaTiny, dtype: ScalarType.BFloat16);
        using var ckpt = Checkpoint.Open(Fixtures.MllamaTiny);
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Equal(ckpt.Names.ToHashSet(), names);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        Assert.Empty(model.UnusedWeights);
    }
}
