using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaCot.Model;
using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.IO;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Runtime;

/// <summary>
/// A small Mllama with seeded random weights and a byte-level tokenizer, so the server runs with no download.
/// It is NOT a trained model: its answers are noise (it never writes the stage tags), but every part of a request
/// (image tiles, vision tower, cross-attention, stage search, judge, streaming) runs for real and answers in seconds.
/// </summary>
public static class DemoModel
{
    /// <summary>The folder name, which is also the model id clients see.</summary>
    public const string Name = "llavacot-demo-random";

    /// <summary>Written last: its presence with the current version means the folder is complete.</summary>
    public const string MarkerFile = "demo_model.json";

    public const string Description = "random weights, not a trained model: answers are noise";

    // Bump when the files below change, so an older demo folder is rebuilt.
    private const int Version = 1;
    private const long Seed = 20241122;

    /// <summary>Where the demo model lives unless configured: the user's data folder, outside any repository.</summary>
    public static string DefaultDirectory =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create),
            "llavacot", "models", Name);

    /// <summary>True when <paramref name="dir"/> holds a demo model written by this class (any version).</summary>
    public static bool IsDemo(string dir) => File.Exists(Path.Combine(dir, MarkerFile));

    /// <summary>
    /// Creates the demo model in <paramref name="dir"/> unless a complete current one is there; returns true when it
    /// wrote one. The folder is built beside the target and renamed into place, so a reader never sees half a model.
    /// Only a folder that carries our marker (any version) is ever replaced; a non-empty folder without it is
    /// refused (<see cref="DemoModelException"/>), never touched.
    /// </summary>
    public static bool EnsureCreated(string dir)
    {
        dir = Path.GetFullPath(dir);
        if (IsCurrent(dir))
            return false;
        if (Problem(dir) is { } problem)
            throw new DemoModelException(problem);
        var parent = Path.GetDirectoryName(dir) ?? throw new DemoModelException($"{dir}: has no parent folder");
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(dir)}.{Environment.ProcessId}.{Guid.NewGuid():N}");
        try
        {
            Write(staging);
            if (Directory.Exists(dir))
            {
                if (IsCurrent(dir))
                    return false;
                RemoveOurs(dir);
            }
            try
            {
                Directory.Move(staging, dir);
            }
            catch (IOException) when (IsCurrent(dir))
            {
                // Another process finished the same folder first; theirs is identical.
                return false;
            }
            return true;
        }
        finally
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>
    /// Why the demo model cannot be written to <paramref name="dir"/>, or null: a file is there, or a non-empty
    /// folder that is not one of ours (it has no marker).
    /// </summary>
    public static string? Problem(string dir)
    {
        dir = Path.GetFullPath(dir);
        if (File.Exists(dir))
            return $"{dir} is a file; the demo model needs a folder of its own";
        if (Directory.Exists(dir) && !IsDemo(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
            return $"{dir} is not empty and holds no demo model ({MarkerFile} missing); it is left as it is. " +
                   "Point the demo model at an empty or new folder";
        return null;
    }

    /// <summary>Deletes an older demo folder (it carries our marker) or an empty one; anything else stays.</summary>
    private static void RemoveOurs(string dir)
    {
        if (Problem(dir) is { } problem)
            throw new DemoModelException(problem);
        Directory.Delete(dir, recursive: IsDemo(dir));
    }

    private static bool IsCurrent(string dir)
    {
        var marker = Path.Combine(dir, MarkerFile);
        if (!File.Exists(marker))
            return false;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(marker));
            return doc.RootElement.TryGetProperty("version", out var v) && v.TryGetInt32(out var n) && n == Version;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        WriteJson(dir, MllamaConfig.FileName, Config());
        WriteJson(dir, GenerationConfig.FileName, new JsonObject
        {
            ["bos_token_id"] = Specials["<|begin_of_text|>"],
            ["eos_token_id"] = new JsonArray(Specials["<|end_of_text|>"], Specials["<|eot_id|>"]),
            ["pad_token_id"] = Specials["<|pad|>"],
        });
        WriteJson(dir, PreprocessorConfig.FileName, PreprocessorConfig.LlamaVisionJson(TileSize, MaxTiles));
        var specials = new JsonObject();
        foreach (var (token, id) in Specials)
            specials[token] = id;
        WriteJson(dir, ByteTokenizer.FileName, new JsonObject
        {
            ["type"] = ByteTokenizer.TypeName,
            ["special_tokens"] = specials,
            ["bos_token"] = "<|begin_of_text|>",
            ["eos_token"] = "<|eot_id|>",
            ["pad_token"] = "<|pad|>",
        });
        WriteWeights(dir);
        WriteJson(dir, MarkerFile, new JsonObject
        {
            ["version"] = Version,
            ["random_weights"] = true,
            ["seed"] = Seed,
            ["description"] = Description,
        });
    }

    private const int TileSize = 32;
    private const int MaxTiles = 4;
    private const int VisionHidden = 64;
    private const int TextHidden = 128;

    /// <summary>Bytes 0..255, then the Llama 3 chat specials; &lt;|image|&gt; takes the vocabulary size, as in Llama 3.2 Vision.</summary>
    private static readonly IReadOnlyList<(string Token, int Id)> SpecialList =
    [
        ("<|begin_of_text|>", 256), ("<|end_of_text|>", 257), ("<|start_header_id|>", 258),
        ("<|end_header_id|>", 259), ("<|eot_id|>", 260), ("<|pad|>", 261), ("<|image|>", 262),
    ];

    private static Dictionary<string, int> Specials => SpecialList.ToDictionary(s => s.Token, s => s.Id);

    private static JsonObject Config()
    {
        var ratios = new JsonArray();
        foreach (var (rows, cols) in new[] { (1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2), (3, 1), (4, 1) })
            ratios.Add(new JsonArray(rows, cols));
        return new JsonObject
        {
            ["architectures"] = new JsonArray("MllamaForConditionalGeneration"),
            ["model_type"] = "mllama",
            ["image_token_index"] = Specials["<|image|>"],
            ["torch_dtype"] = "float32",
            ["text_config"] = new JsonObject
            {
                ["model_type"] = "mllama_text_model",
                ["vocab_size"] = Specials["<|image|>"],
                ["hidden_size"] = TextHidden,
                ["num_attention_heads"] = 4,
                ["num_key_value_heads"] = 2,
                ["num_hidden_layers"] = 4,
                ["cross_attention_layers"] = new JsonArray(1, 3),
                ["intermediate_size"] = 2 * TextHidden,
                ["hidden_act"] = "silu",
                ["rms_norm_eps"] = 1e-5,
                ["rope_theta"] = 500000.0,
                ["max_position_embeddings"] = 131072,
                ["bos_token_id"] = Specials["<|begin_of_text|>"],
                ["eos_token_id"] = new JsonArray(Specials["<|end_of_text|>"], Specials["<|eot_id|>"]),
                ["pad_token_id"] = Specials["<|pad|>"],
                ["tie_word_embeddings"] = false,
            },
            ["vision_config"] = new JsonObject
            {
                ["model_type"] = "mllama_vision_model",
                ["hidden_size"] = VisionHidden,
                ["attention_heads"] = 2,
                ["num_hidden_layers"] = 2,
                ["num_global_layers"] = 1,
                ["intermediate_size"] = 2 * VisionHidden,
                ["image_size"] = TileSize,
                ["patch_size"] = 8,
                ["max_num_tiles"] = MaxTiles,
                ["num_channels"] = 3,
                ["intermediate_layers_indices"] = new JsonArray(1),
                ["vision_output_dim"] = 2 * VisionHidden,
                ["supported_aspect_ratios"] = ratios,
                ["norm_eps"] = 1e-5,
                ["hidden_act"] = "gelu",
            },
        };
    }

    /// <summary>Builds the model from seeded random weights; its parameters carry the checkpoint's names.</summary>
    private static void WriteWeights(string dir)
    {
        var config = MllamaConfig.Load(dir);
        using var scope = NewDisposeScope();
        using var model = MllamaModel.Create(config, new RandomWeights(Seed, ScalarType.Float32, CPU), ScalarType.Float32, CPU);
        var tensors = model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), tensors,
            new Dictionary<string, string> { ["format"] = "pt", ["llavacot"] = Description });
    }

    private static void WriteJson(string dir, string file, JsonNode node) =>
        File.WriteAllText(Path.Combine(dir, file), node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
}

/// <summary>The demo model cannot be created where it was asked for; the message names the folder.</summary>
public sealed class DemoModelException(string message) : Exception(message);
