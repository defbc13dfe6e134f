using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaCot.Model.Config;
using LlavaCot.Tests;

namespace LlavaCot.Model.Tests.Config;

public class ConfigTests
{
    public static TheoryData<string> ConfigFolders() => new()
    {
        "mllama-tiny", "mllama-bench-config",
    };

    [Theory]
    [MemberData(nameof(ConfigFolders))]
    public void Mllama_config_carries_the_json_values(string folder)
    {
        var dir = Fixtures.Path(folder);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        var config = MllamaConfig.Load(dir);
        Assert.Equal((int)json["image_token_index"]!, config.ImageTokenIndex);

        var t = json["text_config"]!;
        var text = config.Text;
        Assert.Equal((int)t["vocab_size"]!, text.VocabSize);
        Assert.Equal((int)t["hidden_size"]!, text.HiddenSize);
        Assert.Equal((int)t["num_attention_heads"]!, text.NumAttentionHeads);
        Assert.Equal((int)t["num_key_value_heads"]!, text.NumKeyValueHeads);
        Assert.Equal((int)t["num_hidden_layers"]!, text.NumHiddenLayers);
        Assert.Equal(Ints(t["cross_attention_layers"]), text.CrossAttentionLayers);
        Assert.Equal((int)t["intermediate_size"]!, text.IntermediateSize);
        Assert.Equal((string)t["hidden_act"]!, text.HiddenAct);
        Assert.Equal((double)t["rms_norm_eps"]!, text.RmsNormEps);
        Assert.Equal((double)t["rope_theta"]!, text.RopeTheta);
        Assert.Equal((int)t["max_position_embeddings"]!, text.MaxPositionEmbeddings);
        Assert.Equal((int)t["bos_token_id"]!, text.BosTokenId);
        Assert.Equal(t["eos_token_id"] is JsonArray ? Ints(t["eos_token_id"]) : [(int)t["eos_token_id"]!], text.EosTokenIds);
        Assert.Equal((int)t["pad_token_id"]!, text.PadTokenId);
        Assert.Equal((bool)t["tie_word_embeddings"]!, text.TieWordEmbeddings);
        var rope = t["rope_scaling"]!;
        Assert.NotNull(text.RopeScaling);
        Assert.Equal((string)rope["rope_type"]!, text.RopeScaling.RopeType);
        Assert.Equal((double)rope["factor"]!, text.RopeScaling.Factor);
        Assert.Equal((double)rope["low_freq_factor"]!, text.RopeScaling.LowFreqFactor);
        Assert.Equal((double)rope["high_freq_factor"]!, text.RopeScaling.HighFreqFactor);
        Assert.Equal((int)rope["original_max_position_embeddings"]!, text.RopeScaling.OriginalMaxPositionEmbeddings);

        var v = json["vision_config"]!;
        var vision = config.Vision;
        Assert.Equal((int)v["hidden_size"]!, vision.HiddenSize);
        Assert.Equal((int)v["attention_heads"]!, vision.AttentionHeads);
        Assert.Equal((int)v["num_hidden_layers"]!, vision.NumHiddenLayers);
        Assert.Equal((int)v["num_global_layers"]!, vision.NumGlobalLayers);
        Assert.Equal((int)v["intermediate_size"]!, vision.IntermediateSize);
        Assert.Equal((int)v["image_size"]!, vision.ImageSize);
        Assert.Equal((int)v["patch_size"]!, vision.PatchSize);
        Assert.Equal((int)v["max_num_tiles"]!, vision.MaxNumTiles);
        Assert.Equal((int)v["num_channels"]!, vision.NumChannels);
        Assert.Equal(Ints(v["intermediate_layers_indices"]), vision.IntermediateLayersIndices);
        Assert.Equal((int)v["vision_output_dim"]!, vision.VisionOutputDim);
        Assert.Equal(v["supported_aspect_ratios"]!.AsArray().Select(Ints).ToArray(), vision.SupportedAspectRatios);
        Assert.Equal((double)v["norm_eps"]!, vision.NormEps);
        Assert.Equal((string)v["hidden_act"]!, vision.HiddenAct);
    }

    [Theory]
    [MemberData(nameof(ConfigFolders))]
    public void Preprocessor_config_carries_the_json_values(string folder)
    {
        var dir = Fixtures.Path(folder);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "preprocessor_config.json")))!;
        var p = PreprocessorConfig.Load(dir);
        Assert.Equal((bool)json["do_convert_rgb"]!, p.DoConvertRgb);
        Assert.Equal((bool)json["do_resize"]!, p.DoResize);
        Assert.Equal((bool)json["do_pad"]!, p.DoPad);
        Assert.Equal((bool)json["do_rescale"]!, p.DoRescale);
        Assert.Equal((bool)json["do_normalize"]!, p.DoNormalize);
        Assert.Equal(json["image_mean"]!.AsArray().Select(x => (double)x!), p.ImageMean);
        Assert.Equal(json["image_std"]!.AsArray().Select(x => (double)x!), p.ImageStd);
        Assert.Equal((int)json["max_image_tiles"]!, p.MaxImageTiles);
        Assert.Equal((int)json["resample"]!, p.Resample);
        Assert.Equal((double)json["rescale_factor"]!, p.RescaleFactor);
        Assert.Equal((int)json["size"]!["height"]!, p.TileHeight);
        Assert.Equal((int)json["size"]!["width"]!, p.TileWidth);
    }

    [Theory]
    [MemberData(nameof(ConfigFolders))]
    public void Generation_config_carries_the_json_values(string folder)
    {
        var dir = Fixtures.Path(folder);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "generation_config.json")))!;
        var g = GenerationConfig.Load(dir);
        Assert.Equal((int?)json["bos_token_id"], g.BosTokenId);
        Assert.Equal(json["eos_token_id"] is JsonArray ? Ints(json["eos_token_id"]) : [(int)json["eos_token_id"]!], g.EosTokenIds);
        Assert.Equal((int?)json["pad_token_id"], g.PadTokenId);
        if (json["temperature"] is { } temperature)
            Assert.Equal((double)temperature, g.Temperature);
        if (json["top_p"] is { } topP)
            Assert.Equal((double)topP, g.TopP);
    }

    [Fact]
    public void Eos_may_be_an_int_or_a_list_and_heads_either_key()
    {
        using var tmp = new TempDir();
        var json = TinyConfig();
        json["text_config"]!["eos_token_id"] = new JsonArray(1, 2, 3);
        var vision = json["vision_config"]!.AsObject();
        var heads = (int)vision["attention_heads"]!;
        vision.Remove("attention_heads");
        vision["num_attention_heads"] = heads;
        json["some_future_field"] = new JsonObject { ["x"] = 1 };
        var path = tmp.File("config.json");
        File.WriteAllText(path, json.ToJsonString());
        var config = MllamaConfig.Load(path);
        Assert.Equal(new[] { 1, 2, 3 }, config.Text.EosTokenIds);
        Assert.Equal(heads, config.Vision.AttentionHeads);
    }

    [Theory]
    [InlineData("text_config", "hidden_size", "text_config.hidden_size is required")]
    [InlineData("vision_config", "patch_size", "vision_config.patch_size is required")]
    [InlineData("vision_config", "attention_heads", "vision_config.num_attention_heads is required")]
    [InlineData("text_config", "cross_attention_layers", "text_config.cross_attention_layers is required")]
    [InlineData("", "image_token_index", "image_token_index is required")]
    public void Missing_required_field_is_named(string section, string field, string message)
    {
        using var tmp = new TempDir();
        var json = TinyConfig();
        (section == "" ? json.AsObject() : json[section]!.AsObject()).Remove(field);
        var path = tmp.File("config.json");
        File.WriteAllText(path, json.ToJsonString());
        var ex = Assert.Throws<ConfigException>(() => MllamaConfig.Load(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void Wrong_type_and_bad_json_are_reported()
    {
        using var tmp = new TempDir();
        var json = TinyConfig();
        json["text_config"]!["hidden_size"] = "wide";
        var path = tmp.File("config.json");
        File.WriteAllText(path, json.ToJsonString());
        Assert.Contains("text_config.hidden_size must be an integer", Assert.Throws<ConfigException>(() => MllamaConfig.Load(path)).Message);
        File.WriteAllText(path, "{ \"text_config\": ");
        Assert.Contains("not valid JSON", Assert.Throws<ConfigException>(() => MllamaConfig.Load(path)).Message);
        Assert.Contains("not found", Assert.Throws<ConfigException>(() => MllamaConfig.Load(tmp.File("absent.json"))).Message);
    }

    [Fact]
    public void Inconsistent_dimensions_are_refused()
    {
        using var tmp = new TempDir();
        var json = TinyConfig();
        json["vision_config"]!["vision_output_dim"] = 7;
        var path = tmp.File("config.json");
        File.WriteAllText(path, json.ToJsonString());
        Assert.Contains("vision_output_dim", Assert.Throws<ConfigException>(() => MllamaConfig.Load(path)).Message);
    }

    private static JsonNode TinyConfig() => JsonNode.Parse(File.ReadAllText(Fixtures.Path("mllama-tiny", "config.json")))!;

    private static int[] Ints(JsonNode? node) => node!.AsArray().Select(x => (int)x!).ToArray();
}
