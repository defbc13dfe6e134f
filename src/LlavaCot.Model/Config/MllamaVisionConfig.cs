namespace LlavaCot.Model.Config;

/// <summary><c>vision_config</c>: the tiled ViT with a local and a gated global encoder.</summary>
public sealed record MllamaVisionConfig
{
    public required int HiddenSize { get; init; }
    public required int AttentionHeads { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumGlobalLayers { get; init; }
    public required int IntermediateSize { get; init; }
    public required int ImageSize { get; init; }
    public required int PatchSize { get; init; }
    public required int MaxNumTiles { get; init; }
    public required int[] IntermediateLayersIndices { get; init; }
    public required int VisionOutputDim { get; init; }
    public required int[][] SupportedAspectRatios { get; init; }
    public int NumChannels { get; init; } = 3;
    public double NormEps { get; init; } = 1e-5;
    public string HiddenAct { get; init; } = "gelu";

    public int HeadDim => HiddenSize / AttentionHeads;

    public int PatchesPerSide => ImageSize / PatchSize;

    /// <summary>Tokens per tile: one per patch plus the class token.</summary>
    public int TokensPerTile => PatchesPerSide * PatchesPerSide + 1;

    /// <summary>Tokens per tile inside the encoders, padded up to a multiple of 8.</summary>
    public int PaddedTokensPerTile => (TokensPerTile + 7) / 8 * 8;

    /// <summary>Rows of the aspect-ratio embedding tables: one per supported ratio plus id 0 (no image).</summary>
    public int AspectRatioEmbeddings => SupportedAspectRatios.Length + 1;

    internal static MllamaVisionConfig Parse(JsonSection s) => new()
    {
        HiddenSize = s.Int("hidden_size"),
        // HF writes "attention_heads"; its constructor argument is "num_attention_heads".
        AttentionHeads = s.Has("attention_heads") ? s.Int("attention_heads") : s.Int("num_attention_heads"),
        NumHiddenLayers = s.Int("num_hidden_layers"),
        NumGlobalLayers = s.Int("num_global_layers"),
        IntermediateSize = s.Int("intermediate_size"),
        ImageSize = s.Int("image_size"),
        PatchSize = s.Int("patch_size"),
        MaxNumTiles = s.Int("max_num_tiles"),
        IntermediateLayersIndices = s.IntArray("intermediate_layers_indices"),
        VisionOutputDim = s.Int("vision_output_dim"),
        SupportedAspectRatios = s.IntMatrix("supported_aspect_ratios"),
        NumChannels = s.Int("num_channels", 3),
        NormEps = s.Double("norm_eps", 1e-5),
        HiddenAct = s.String("hidden_act", "gelu"),
    };

    internal void Validate(string file)
    {
        void Require(bool ok, string what)
        {
            if (!ok)
                throw new ConfigException($"{file}: vision_config {what}");
        }
        Require(HiddenSize > 0 && IntermediateSize > 0 && NumHiddenLayers > 0 && MaxNumTiles > 0 && NumChannels > 0,
            "sizes must be positive");
        Require(AttentionHeads > 0 && HiddenSize % AttentionHeads == 0,
            $"hidden_size {HiddenSize} must be a multiple of attention_heads {AttentionHeads}");
        Require(PatchSize > 0 && ImageSize % PatchSize == 0,
            $"image_size {ImageSize} must be a multiple of patch_size {PatchSize}");
        Require(IntermediateLayersIndices.All(i => i >= 0 && i <= NumHiddenLayers),
            $"intermediate_layers_indices must lie in 0..{NumHiddenLayers}");
        Require(VisionOutputDim == HiddenSize * (1 + IntermediateLayersIndices.Length),
            $"vision_output_dim {VisionOutputDim} must equal hidden_size × (1 + number of intermediate layers)");
        Require(SupportedAspectRatios.Length > 0 && SupportedAspectRatios.All(r => r.Length == 2 && r[0] > 0 && r[1] > 0),
            "supported_aspect_ratios must be a list of positive [rows, cols] pairs");
        Require(HiddenAct == "gelu", $"hidden_act '{HiddenAct}' is not supported (gelu)");
    }
}
