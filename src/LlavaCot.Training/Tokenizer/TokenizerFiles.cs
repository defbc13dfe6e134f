using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaCot.Model.Inputs;

namespace LlavaCot.Training.Tokenizer;

/// <summary>
/// Writes a trained BPE as the Hugging Face files of a Llama 3.2 Vision checkpoint: <c>tokenizer.json</c> (byte-level
/// BPE, the Llama 3 Split rule, <c>ignore_merges</c>, a BOS post-processor) and <c>tokenizer_config.json</c> (BOS, EOS,
/// clean-up, the chat template). The 256 Llama 3 special tokens follow the BPE vocabulary and <c>&lt;|image|&gt;</c>
/// comes after them, as in the vision checkpoint, so the normal Llama 3 loader reads the files.
/// </summary>
public static class TokenizerFiles
{
    /// <summary>Llama 3's special tokens in order (ids vocabulary + 0 … + 255).</summary>
    public static IReadOnlyList<string> Llama3Specials { get; } = BuildSpecials();

    private static List<string> BuildSpecials()
    {
        var named = new Dictionary<int, string>
        {
            [0] = "<|begin_of_text|>", [1] = "<|end_of_text|>", [4] = "<|finetune_right_pad_id|>", [6] = "<|start_header_id|>",
            [7] = "<|end_header_id|>", [8] = "<|eom_id|>", [9] = "<|eot_id|>", [10] = "<|python_tag|>",
        };
        var list = new List<string>();
        var reserved = 0;
        for (var i = 0; i < 256; i++)
            list.Add(named.TryGetValue(i, out var name) ? name : $"<|reserved_special_token_{reserved++}|>");
        return list;
    }

    /// <summary>
    /// A chat template of our own that renders what <see cref="ChatTemplate"/> does: BOS, turns with headers, image
    /// parts as <c>&lt;|image|&gt;</c>, and for conversations without an image the system block with the knowledge
    /// cut-off and today's date written as <c>strftime("%d %b %Y")</c>.
    /// </summary>
    public const string ChatTemplateText =
        "{{- bos_token }}" +
        "{%- set ns = namespace(image=false) %}" +
        "{%- for m in messages %}{%- if m['content'] is not string %}{%- for c in m['content'] %}" +
        "{%- if c['type'] == 'image' %}{%- set ns.image = true %}{%- endif %}{%- endfor %}{%- endif %}{%- endfor %}" +
        "{%- if not ns.image %}" +
        "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}" +
        "{{- 'Cutting Knowledge Date: December 2023\\n' }}" +
        "{{- 'Today Date: ' + (strftime_now('%d %b %Y') if strftime_now is defined else '26 Jul 2024') + '\\n\\n' }}" +
        "{{- '<|eot_id|>' }}" +
        "{%- endif %}" +
        "{%- for m in messages %}" +
        "{{- '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' }}" +
        "{%- if m['content'] is string %}{{- m['content'] }}{%- else %}{%- for c in m['content'] %}" +
        "{%- if c['type'] == 'image' %}{{- '<|image|>' }}{%- elif c['type'] == 'text' %}{{- c['text'] }}{%- endif %}" +
        "{%- endfor %}{%- endif %}" +
        "{{- '<|eot_id|>' }}" +
        "{%- endfor %}" +
        "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

    /// <summary>Writes both files into <paramref name="dir"/>; returns the id of <c>&lt;|image|&gt;</c>.</summary>
    public static int Write(string dir, BpeVocabulary bpe)
    {
        Directory.CreateDirectory(dir);
        var vocabulary = bpe.Tokens.Count;
        var vocab = new JsonObject();
        for (var id = 0; id < vocabulary; id++)
            vocab[ByteLevelAlphabet.ToText(bpe.Tokens[id])] = id;
        var added = new JsonArray();
        var decoder = new JsonObject();
        var specials = Llama3Specials.Append(ImageToken.Text).ToList();
        for (var i = 0; i < specials.Count; i++)
        {
            added.Add(AddedToken(vocabulary + i, specials[i]));
            var entry = AddedToken(vocabulary + i, specials[i]);
            entry.Remove("id");
            decoder[(vocabulary + i).ToString(System.Globalization.CultureInfo.InvariantCulture)] = entry;
        }
        var bos = vocabulary;
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = SplitPreTokenizer.Llama3Pattern },
                        ["behavior"] = "Isolated", ["invert"] = false,
                    },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(Special("<|begin_of_text|>"), Sequence("A")),
                ["pair"] = new JsonArray(Special("<|begin_of_text|>"), Sequence("A"), Special("<|begin_of_text|>"), Sequence("B")),
                ["special_tokens"] = new JsonObject
                {
                    ["<|begin_of_text|>"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["ids"] = new JsonArray(bos), ["tokens"] = new JsonArray("<|begin_of_text|>") },
                },
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = true,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray(Merges(bpe).Select(m => (JsonNode)JsonValue.Create(m)!).ToArray()),
            },
        };
        var config = new JsonObject
        {
            ["added_tokens_decoder"] = decoder,
            ["bos_token"] = "<|begin_of_text|>",
            ["eos_token"] = "<|eot_id|>",
            ["pad_token"] = "<|finetune_right_pad_id|>",
            ["clean_up_tokenization_spaces"] = true,
            ["model_input_names"] = new JsonArray("input_ids", "attention_mask"),
            ["model_max_length"] = 131072,
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["chat_template"] = ChatTemplateText,
        };
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        File.WriteAllText(Path.Combine(dir, Llama3Tokenizer.FileName), tokenizer.ToJsonString(options) + "\n");
        File.WriteAllText(Path.Combine(dir, Llama3Tokenizer.ConfigFileName), config.ToJsonString(options) + "\n");
        return vocabulary + specials.Count - 1;
    }

    /// <summary>
    /// The merges list, written so that HF's merge-list BPE encodes as the loader's rank-based (tiktoken) BPE does:
    /// every way of splitting each token into two vocabulary tokens, ordered by the token's id. Both then join the
    /// adjacent pair whose join has the lowest id first, leftmost on ties.
    /// </summary>
    public static IEnumerable<string> Merges(BpeVocabulary bpe)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var id = 0; id < bpe.Tokens.Count; id++)
            ids[ByteLevelAlphabet.ToText(bpe.Tokens[id])] = id;
        for (var id = 256; id < bpe.Tokens.Count; id++)
        {
            var text = ByteLevelAlphabet.ToText(bpe.Tokens[id]);
            for (var cut = 1; cut < text.Length; cut++)
            {
                if (ids.ContainsKey(text[..cut]) && ids.ContainsKey(text[cut..]))
                    yield return $"{text[..cut]} {text[cut..]}";
            }
        }
    }

    private static JsonObject AddedToken(int id, string content) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
        ["normalized"] = false, ["special"] = true,
    };

    private static JsonObject Special(string id) => new() { ["SpecialToken"] = new JsonObject { ["id"] = id, ["type_id"] = 0 } };

    private static JsonObject Sequence(string id) => new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = 0 } };
}
