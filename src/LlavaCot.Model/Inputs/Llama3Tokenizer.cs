using System.Buffers.Text;
using System.Text.Json;
using LlavaCot.Model.Config;
using Microsoft.ML.Tokenizers;

namespace LlavaCot.Model.Inputs;

/// <summary>
/// The Llama 3 byte-level BPE tokenizer of a checkpoint folder (tokenizer.json + tokenizer_config.json), encoded
/// with Microsoft.ML.Tokenizers' TiktokenTokenizer: Llama 3 ids are tiktoken ranks and its tokenizer.json sets
/// <c>ignore_merges</c>, so tiktoken's whole-piece lookup then rank-ordered merges give HF's ids exactly.
/// The TiktokenTokenizer is built with no special tokens at all, which is what keeps the user path safe.
/// </summary>
public sealed class Llama3Tokenizer : TokenizerBase
{
    public const string FileName = "tokenizer.json";
    public const string ConfigFileName = "tokenizer_config.json";

    private readonly TiktokenTokenizer _bpe;
    private readonly SplitPreTokenizer _preTokenizer;
    private readonly byte[][] _tokenBytes;

    private Llama3Tokenizer(Parsed p, bool cleanUp, string? bos, string? eos, string? pad)
        : base(p.TokenBytes.Length, p.Specials, cleanUp, bos, eos, pad)
    {
        _bpe = p.Bpe;
        _preTokenizer = p.PreTokenizer;
        _tokenBytes = p.TokenBytes;
    }

    /// <summary>
    /// Loads the tokenizer of <paramref name="folder"/>. When <paramref name="imageTokenIndex"/> (the model config's
    /// <c>image_token_index</c>) is given and the files lack <c>&lt;|image|&gt;</c>, it is added as a special token at
    /// that index, which must then be the vocabulary size (plain Llama 3 files lack it; the vision checkpoint's have it).
    /// </summary>
    public static Llama3Tokenizer Load(string folder, int? imageTokenIndex = null)
    {
        var file = Path.Combine(folder, FileName);
        var configFile = Path.Combine(folder, ConfigFileName);
        Parsed parsed;
        using (var doc = TokenizerFile.Parse(file))
            parsed = Parse(doc.RootElement, file);
        ImageToken.Reconcile(parsed.Specials, parsed.TokenBytes.Length, imageTokenIndex, file);
        using var config = TokenizerFile.Parse(configFile);
        var c = config.RootElement;
        // HF 4.45 defaults clean_up_tokenization_spaces to false when the file does not set it.
        return new Llama3Tokenizer(parsed,
            TokenizerFile.Bool(c, "clean_up_tokenization_spaces", false, configFile),
            TokenizerFile.TokenText(c, "bos_token", configFile),
            TokenizerFile.TokenText(c, "eos_token", configFile),
            TokenizerFile.TokenText(c, "pad_token", configFile));
    }

    protected override void EncodeOrdinary(string text, List<int> ids) =>
        _preTokenizer.Split(text, piece => ids.AddRange(_bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false)));

    protected override ReadOnlySpan<byte> OrdinaryTokenBytes(int id) =>
        id < _tokenBytes.Length ? _tokenBytes[id] : [];

    private sealed record Parsed(TiktokenTokenizer Bpe, SplitPreTokenizer PreTokenizer, byte[][] TokenBytes, Dictionary<string, int> Specials);

    private static Parsed Parse(JsonElement root, string file)
    {
        if (root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind != JsonValueKind.Null)
            throw new ConfigException($"{file}: a normalizer is not supported (Llama 3 has none)");
        var model = TokenizerFile.Object(root, "model", file);
        if (!model.TryGetProperty("type", out var type) || type.GetString() != "BPE")
            throw new ConfigException($"{file}: model.type must be \"BPE\" (a byte-level BPE tokenizer)");
        if (!TokenizerFile.Bool(model, "ignore_merges", false, file))
            throw new ConfigException($"{file}: model.ignore_merges must be true (tiktoken-style BPE, as in Llama 3)");
        var tokenBytes = VocabBytes(TokenizerFile.Object(model, "vocab", file), file);
        var bpe = TiktokenTokenizer.Create(TiktokenVocab(tokenBytes), preTokenizer: null, normalizer: null);
        var specials = AddedTokens(root, file);
        foreach (var (content, id) in specials)
        {
            // A special id that is also a vocabulary entry could come out of the user path.
            if (id < tokenBytes.Length && tokenBytes[id].Length > 0)
                throw new ConfigException($"{file}: added token {content} has id {id}, which model.vocab also uses");
        }
        return new Parsed(bpe, new SplitPreTokenizer(SplitPattern(root, file)), tokenBytes, specials);
    }

    private static byte[][] VocabBytes(JsonElement vocab, string file)
    {
        var entries = new List<(int Id, byte[] Bytes)>();
        foreach (var p in vocab.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out var id) || id < 0)
                throw new ConfigException($"{file}: model.vocab[\"{p.Name}\"] must be a non-negative integer id");
            var bytes = ByteLevelAlphabet.ToBytes(p.Name)
                ?? throw new ConfigException($"{file}: model.vocab entry \"{p.Name}\" is not byte-level (GPT-2 alphabet)");
            entries.Add((id, bytes));
        }
        var table = new byte[entries.Count == 0 ? 0 : entries.Max(e => e.Id) + 1][];
        foreach (var (id, bytes) in entries)
        {
            if (table[id] is not null)
                throw new ConfigException($"{file}: model.vocab has id {id} twice");
            table[id] = bytes;
        }
        for (var id = 0; id < table.Length; id++)
            table[id] ??= [];
        return table;
    }

    /// <summary>The vocabulary in tiktoken's text format (<c>base64(bytes) rank</c> per line), ranks = ids.</summary>
    private static MemoryStream TiktokenVocab(byte[][] tokenBytes)
    {
        var stream = new MemoryStream(tokenBytes.Length * 24);
        Span<byte> line = stackalloc byte[64];
        for (var id = 0; id < tokenBytes.Length; id++)
        {
            var bytes = tokenBytes[id];
            if (bytes.Length == 0)
                continue;
            var encoded = Base64.GetMaxEncodedToUtf8Length(bytes.Length);
            var buffer = encoded + 12 <= line.Length ? line : new byte[encoded + 12];
            Base64.EncodeToUtf8(bytes, buffer, out _, out var written);
            buffer[written++] = (byte)' ';
            Utf8Formatter.TryFormat(id, buffer[written..], out var digits);
            written += digits;
            buffer[written++] = (byte)'\n';
            stream.Write(buffer[..written]);
        }
        stream.Position = 0;
        return stream;
    }

    /// <summary>The regex of the Split pre-tokenizer, alone or inside a Sequence.</summary>
    private static string SplitPattern(JsonElement root, string file)
    {
        if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object)
        {
            var steps = pre.TryGetProperty("pretokenizers", out var seq) && seq.ValueKind == JsonValueKind.Array
                ? seq.EnumerateArray().ToArray()
                : [pre];
            if (steps.Any(step => step.TryGetProperty("type", out var t) && t.GetString() == "ByteLevel"
                    && TokenizerFile.Bool(step, "use_regex", true, file)))
                throw new ConfigException($"{file}: pre_tokenizer's ByteLevel step must have use_regex false (the Split regex does the splitting)");
            foreach (var step in steps)
            {
                if (step.TryGetProperty("type", out var t) && t.GetString() == "Split"
                    && step.TryGetProperty("pattern", out var pattern) && pattern.ValueKind == JsonValueKind.Object
                    && pattern.TryGetProperty("Regex", out var regex) && regex.ValueKind == JsonValueKind.String)
                    return regex.GetString()!;
            }
        }
        throw new ConfigException($"{file}: pre_tokenizer has no Split step with a Regex pattern");
    }

    /// <summary>
    /// <c>added_tokens</c>. All of them count as special: the Llama 3 files mark every one special, and treating them
    /// so keeps them out of user text.
    /// </summary>
    private static Dictionary<string, int> AddedTokens(JsonElement root, string file)
    {
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        var ids = new HashSet<int>();
        if (!root.TryGetProperty("added_tokens", out var added) || added.ValueKind == JsonValueKind.Null)
            return specials;
        if (added.ValueKind != JsonValueKind.Array)
            throw new ConfigException($"{file}: added_tokens must be an array");
        foreach (var token in added.EnumerateArray())
        {
            if (token.ValueKind != JsonValueKind.Object
                || !token.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out var value) || value < 0
                || !token.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String
                || string.IsNullOrEmpty(content.GetString()))
                throw new ConfigException($"{file}: added_tokens entries need an integer id and a non-empty content string");
            if (!ids.Add(value) || !specials.TryAdd(content.GetString()!, value))
                throw new ConfigException($"{file}: added_tokens repeats {content.GetString()} or its id {value}");
        }
        return specials;
    }
}
