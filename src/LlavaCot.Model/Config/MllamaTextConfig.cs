namespace LlavaCot.Model.Config;

/// <summary><c>text_config</c>: the Llama 3.1-style decoder with interleaved cross-attention layers.</summary>
public sealed record MllamaTextConfig
{
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int[] CrossAttentionLayers { get; init; }
    public required int IntermediateSize { get; init; }
    public string HiddenAct { get; init; } = "silu";
    public double RmsNormEps { get; init; } = 1e-5;
    public double RopeTheta { get; init; } = 500000;
    public RopeScaling? RopeScaling { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 131072;
    public int? BosTokenId { get; init; }
    public int[] EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    public bool TieWordEmbeddings { get; init; }

    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>embed_tokens has 8 rows beyond the vocabulary (Meta's learnable embedding, incl. &lt;|image|&gt;).</summary>
    public int EmbeddingRows => VocabSize + 8;

    public bool IsCrossAttentionLayer(int layer) => CrossAttentionLayers.Contains(layer);

    internal static MllamaTextConfig Parse(JsonSection s) => new()
    {
        VocabSize = s.Int("vocab_size"),
        HiddenSize = s.Int("hidden_size"),
        NumAttentionHeads = s.Int("num_attention_heads"),
        NumKeyValueHeads = s.Int("num_key_value_heads"),
        NumHiddenLayers = s.Int("num_hidden_layers"),
        CrossAttentionLayers = s.IntArray("cross_attention_layers"),
        IntermediateSize = s.Int("intermediate_size"),
        HiddenAct = s.String("hidden_act", "silu"),
        RmsNormEps = s.Double("rms_norm_eps", 1e-5),
        RopeTheta = s.Double("rope_theta", 500000),
        RopeScaling = s.Has("rope_scaling") ? RopeScaling.Parse(s.Section("rope_scaling")) : null,
        MaxPositionEmbeddings = s.Int("max_position_embeddings", 131072),
        BosTokenId = s.IntOrNull("bos_token_id"),
        EosTokenIds = s.Has("eos_token_id") ? s.IntOrIntArray("eos_token_id") : [],
        PadTokenId = s.IntOrNull("pad_token_id"),
        TieWordEmbeddings = s.Bool("tie_word_embeddings", false),
    };

    internal void Validate(string file)
    {
        void Require(bool ok, string what)
        {
            if (!ok)
                throw new ConfigException($"{file}: text_config {what}");
        }
        Require(VocabSize > 0 && HiddenSize > 0 && IntermediateSize > 0 && NumHiddenLayers > 0,
            "sizes must be positive");
        Require(NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads == 0,
            $"hidden_size {HiddenSize} must be a multiple of num_attention_heads {NumAttentionHeads}");
        Require(HeadDim % 2 == 0, $"head dimension {HeadDim} must be even for rotary embeddings");
        Require(NumKeyValueHeads > 0 && NumAttentionHeads % NumKeyValueHeads == 0,
            $"num_attention_heads {NumAttentionHeads} must be a multiple of num_key_value_heads {NumKeyValueHeads}");
        Require(CrossAttentionLayers.All(l => l >= 0 && l < NumHiddenLayers),
            $"cross_attention_layers [{string.Join(", ", CrossAttentionLayers)}] must lie in 0..{NumHiddenLayers - 1}");
        Require(HiddenAct == "silu", $"hidden_act '{HiddenAct}' is not supported (silu)");
    }
}
