using System.Text;
using System.Text.Json;
using LlavaCot.Model.Config;

namespace LlavaCot.Model.Inputs;

/// <summary>
/// The fixture model's toy tokenizer: ids 0..255 are the UTF-8 bytes of the text, special tokens come from a map
/// (ids from 256 on). It stands in for the real tokenizer wherever a tiny test model runs.
/// </summary>
public sealed class ByteTokenizer : TokenizerBase
{
    /// <summary>Our own description file: <c>{"type":"byte-level","special_tokens":{"&lt;|begin_of_text|&gt;":256,...}}</c>.</summary>
    public const string FileName = "byte_tokenizer.json";

    /// <summary>The mllama-tiny fixture's manifest, whose <c>tokenizer</c> text starts with this and which has <c>special_tokens</c>.</summary>
    public const string ManifestFileName = "manifest.json";

    public const string TypeName = "byte-level";

    private static readonly byte[][] Bytes = Enumerable.Range(0, 256).Select(b => new[] { (byte)b }).ToArray();

    /// <param name="specials">Special tokens; their ids must be 256 or more.</param>
    /// <param name="bos">BOS token text; defaults to <c>&lt;|begin_of_text|&gt;</c> (null id when the map lacks it).</param>
    /// <param name="eos">EOS token text; defaults to <c>&lt;|end_of_text|&gt;</c>.</param>
    /// <param name="pad">Pad token text; defaults to <c>&lt;|pad|&gt;</c>.</param>
    public ByteTokenizer(IReadOnlyDictionary<string, int> specials, bool cleanUpTokenizationSpaces = false,
        string? bos = null, string? eos = null, string? pad = null)
        : base(256, CheckIds(specials), cleanUpTokenizationSpaces,
            bos ?? "<|begin_of_text|>", eos ?? "<|end_of_text|>", pad ?? "<|pad|>")
    {
    }

    /// <summary>Reads <c>byte_tokenizer.json</c> or a fixture <c>manifest.json</c>; see <see cref="TokenizerLoader"/>.</summary>
    public static ByteTokenizer Load(string file, int? imageTokenIndex = null)
    {
        using var doc = TokenizerFile.Parse(file);
        var root = doc.RootElement;
        var type = root.TryGetProperty(Path.GetFileName(file) == ManifestFileName ? "tokenizer" : "type", out var t)
            && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        if (!type.StartsWith(TypeName, StringComparison.Ordinal))
            throw new ConfigException($"{file}: not a {TypeName} tokenizer description (type is '{type}')");
        var specials = TokenizerFile.IdMap(root, "special_tokens", file);
        if (OverlapsBytes(specials))
            throw new ConfigException($"{file}: special_tokens ids must be 256 or more (0..255 are bytes)");
        ImageToken.Reconcile(specials, 256, imageTokenIndex, file);
        return new ByteTokenizer(specials,
            TokenizerFile.Bool(root, "clean_up_tokenization_spaces", false, file),
            TokenizerFile.TokenText(root, "bos_token", file),
            TokenizerFile.TokenText(root, "eos_token", file),
            TokenizerFile.TokenText(root, "pad_token", file));
    }

    protected override void EncodeOrdinary(string text, List<int> ids)
    {
        foreach (var b in Encoding.UTF8.GetBytes(text))
            ids.Add(b);
    }

    protected override ReadOnlySpan<byte> OrdinaryTokenBytes(int id) => id < 256 ? Bytes[id] : [];

    private static bool OverlapsBytes(IReadOnlyDictionary<string, int> specials) => specials.Values.Any(id => id < 256);

    private static IReadOnlyDictionary<string, int> CheckIds(IReadOnlyDictionary<string, int> specials) =>
        OverlapsBytes(specials)
            ? throw new ArgumentException("special token ids must be 256 or more (0..255 are bytes)", nameof(specials))
            : specials;
}
