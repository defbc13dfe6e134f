using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaCot.Model.Config;
using LlavaCot.Training.Tokenizer;

namespace LlavaCot.Training.Train;

/// <summary>
/// The size of a small Mllama for the shapes task: one 224-px tile cut into 16-px patches (a small shape spans 2–3),
/// a vision tower whose chosen layers feed the projector, and a narrow text decoder where every other layer is
/// cross-attention: with two such layers a first model (6.6M parameters, 2400 steps) named single shapes well but
/// mixed up the shapes of busier scenes, and four cost only 8 % more per step.
/// It writes the same config files as a Llama 3.2 Vision checkpoint, so the model loads with the 11B's loader.
/// </summary>
public sealed record DemoArchitecture
{
    public int TileSize { get; init; } = 224;
    public int PatchSize { get; init; } = 16;
    public int VisionHidden { get; init; } = 128;
    public int VisionHeads { get; init; } = 4;
    public int VisionLayers { get; init; } = 6;
    public int VisionGlobalLayers { get; init; } = 2;
    public int[] VisionIntermediateLayers { get; init; } = [2, 5];
    public int TextHidden { get; init; } = 192;
    public int TextHeads { get; init; } = 8;
    public int TextKvHeads { get; init; } = 4;
    public int TextLayers { get; init; } = 8;
    public int[] CrossAttentionLayers { get; init; } = [1, 3, 5, 7];
    public int TextIntermediate { get; init; } = 576;

    /// <summary>Writes config.json, preprocessor_config.json and generation_config.json for a tokenizer of <paramref name="bpeSize"/> BPE tokens.</summary>
    public void Write(string dir, int bpeSize)
    {
        Directory.CreateDirectory(dir);
        var specials = TokenizerFiles.Llama3Specials;
        int Id(string token) => bpeSize + specials.ToList().IndexOf(token);
        var vocab = bpeSize + specials.Count;
        var eos = new JsonArray(Id("<|end_of_text|>"), Id("<|eom_id|>"), Id("<|eot_id|>"));
        Write(dir, MllamaConfig.FileName, new JsonObject
        {
            ["architectures"] = new JsonArray("MllamaForConditionalGeneration"),
            ["model_type"] = "mllama",
            ["image_token_index"] = vocab,
            ["torch_dtype"] = "float32",
            ["text_config"] = new JsonObject
            {
                ["model_type"] = "mllama_text_model",
                ["vocab_size"] = vocab,
                ["hidden_size"] = TextHidden,
                ["num_attention_heads"] = TextHeads,
                ["num_key_value_heads"] = TextKvHeads,
                ["num_hidden_layers"] = TextLayers,
                ["cross_attention_layers"] = new JsonArray(CrossAttentionLayers.Select(i => (JsonNode)i).ToArray()),
                ["intermediate_size"] = TextIntermediate,
                ["hidden_act"] = "silu",
                ["rms_norm_eps"] = 1e-5,
                ["rope_theta"] = 500000.0,
                ["max_position_embeddings"] = 4096,
                ["bos_token_id"] = Id("<|begin_of_text|>"),
                ["eos_token_id"] = eos.DeepClone(),
                ["pad_token_id"] = Id("<|finetune_right_pad_id|>"),
                ["tie_word_embeddings"] = false,
            },
            ["vision_config"] = new JsonObject
            {
                ["model_type"] = "mllama_vision_model",
                ["hidden_size"] = VisionHidden,
                ["attention_heads"] = VisionHeads,
                ["num_hidden_layers"] = VisionLayers,
                ["num_global_layers"] = VisionGlobalLayers,
                ["intermediate_size"] = 4 * VisionHidden,
                ["image_size"] = TileSize,
                ["patch_size"] = PatchSize,
                ["max_num_tiles"] = 1,
                ["num_channels"] = 3,
                ["intermediate_layers_indices"] = new JsonArray(VisionIntermediateLayers.Select(i => (JsonNode)i).ToArray()),
                ["vision_output_dim"] = VisionHidden * (VisionIntermediateLayers.Length + 1),
                ["supported_aspect_ratios"] = new JsonArray(new JsonArray(1, 1)),
                ["norm_eps"] = 1e-5,
                ["hidden_act"] = "gelu",
            },
        });
        Write(dir, PreprocessorConfig.FileName, PreprocessorConfig.LlamaVisionJson(TileSize, 1));
        Write(dir, GenerationConfig.FileName, new JsonObject
        {
            ["bos_token_id"] = Id("<|begin_of_text|>"),
            ["eos_token_id"] = eos,
            ["pad_token_id"] = Id("<|finetune_right_pad_id|>"),
            ["do_sample"] = true,
            ["temperature"] = 0.6,
            ["top_p"] = 0.9,
        });
    }

    private static void Write(string dir, string file, JsonNode node) =>
        File.WriteAllText(Path.Combine(dir, file), node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
}
