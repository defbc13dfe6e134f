using System.Text;

namespace LlavaCot.Model.Inputs;

/// <summary>
/// What the byte-level tokenizers share: special tokens are split out of template text here and never handed to
/// the ordinary encoder, so the user path cannot produce them; decoding joins token bytes and reads UTF-8 once,
/// exactly like HF's ByteLevel decoder followed by <c>String::from_utf8_lossy</c>.
/// </summary>
public abstract class TokenizerBase : ITokenizer
{
    private readonly Dictionary<string, int> _specials;
    private readonly Dictionary<int, byte[]> _specialBytes;
    private readonly SpecialTokenSplitter _splitter;

    /// <param name="ordinaryCount">Ids below this are ordinary tokens (some may be unused).</param>
    protected TokenizerBase(int ordinaryCount, IReadOnlyDictionary<string, int> specials, bool cleanUpTokenizationSpaces,
        string? bos, string? eos, string? pad)
    {
        VocabularySize = CountIds(ordinaryCount, specials);
        _specials = new Dictionary<string, int>(specials, StringComparer.Ordinal);
        _specialBytes = _specials.ToDictionary(s => s.Value, s => Encoding.UTF8.GetBytes(s.Key));
        _splitter = new SpecialTokenSplitter(_specials);
        CleanUpTokenizationSpaces = cleanUpTokenizationSpaces;
        BosTokenId = bos is null ? null : SpecialTokenId(bos);
        EosTokenId = eos is null ? null : SpecialTokenId(eos);
        PadTokenId = pad is null ? null : SpecialTokenId(pad);
    }

    public int VocabularySize { get; }

    public IReadOnlyDictionary<string, int> SpecialTokens => _specials;

    public bool CleanUpTokenizationSpaces { get; }

    public int? BosTokenId { get; }

    public int? EosTokenId { get; }

    public int? PadTokenId { get; }

    /// <summary>Ids 0..n-1: the ordinary ids and every special id.</summary>
    internal static int CountIds(int ordinaryCount, IReadOnlyDictionary<string, int> specials) =>
        specials.Count == 0 ? ordinaryCount : Math.Max(ordinaryCount, specials.Values.Max() + 1);

    /// <summary>Encodes text that holds no special token (the special tokens are already split out).</summary>
    protected abstract void EncodeOrdinary(string text, List<int> ids);

    /// <summary>The bytes of an ordinary (non-special) id; empty when unknown.</summary>
    protected abstract ReadOnlySpan<byte> OrdinaryTokenBytes(int id);

    public IReadOnlyList<int> Encode(IEnumerable<PromptSegment> segments)
    {
        var ids = new List<int>();
        var run = new StringBuilder();
        void Special(int id)
        {
            if (run.Length > 0)
                EncodeOrdinary(run.ToString(), ids);
            run.Clear();
            ids.Add(id);
        }
        foreach (var segment in segments)
        {
            switch (segment.Kind)
            {
                case PromptSegmentKind.Special when SpecialTokenId(segment.Text) is { } id:
                    Special(id);
                    break;
                case PromptSegmentKind.Template:
                    _splitter.Split(segment.Text, piece => run.Append(piece), Special);
                    break;
                case PromptSegmentKind.Special or PromptSegmentKind.User:
                    run.Append(segment.Text);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(segments), segment.Kind, "unknown prompt segment kind");
            }
        }
        if (run.Length > 0)
            EncodeOrdinary(run.ToString(), ids);
        return ids;
    }

    public IReadOnlyList<int> EncodeTemplate(string text) => Encode([PromptSegment.Template(text)]);

    public IReadOnlyList<int> EncodeUser(string text)
    {
        var ids = new List<int>();
        EncodeOrdinary(text, ids);
        return ids;
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (!(skipSpecialTokens && IsSpecial(id)))
                bytes.AddRange(TokenBytes(id));
        }
        var text = Encoding.UTF8.GetString(bytes.ToArray());
        return cleanUpTokenizationSpaces ?? CleanUpTokenizationSpaces ? TokenizationCleanUp.Apply(text) : text;
    }

    public int? SpecialTokenId(string token) => _specials.TryGetValue(token, out var id) ? id : null;

    public bool IsSpecial(int id) => _specialBytes.ContainsKey(id);

    public ReadOnlySpan<byte> TokenBytes(int id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        return _specialBytes.TryGetValue(id, out var bytes) ? bytes : OrdinaryTokenBytes(id);
    }
}
