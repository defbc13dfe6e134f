namespace LlavaCot.Model.Config;

/// <summary><c>generation_config.json</c>: stop ids and the checkpoint's default sampling settings.</summary>
public sealed record GenerationConfig
{
    public const string FileName = "generation_config.json";

    public int? BosTokenId { get; init; }
    public int[] EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    public bool DoSample { get; init; }
    public double Temperature { get; init; } = 1.0;
    public int TopK { get; init; } = 50;
    public double TopP { get; init; } = 1.0;
    public int? MaxNewTokens { get; init; }

    public static GenerationConfig Load(string folderOrFile)
    {
        var file = Directory.Exists(folderOrFile) ? Path.Combine(folderOrFile, FileName) : folderOrFile;
        return JsonSection.Load(file, s => new GenerationConfig
        {
            BosTokenId = s.IntOrNull("bos_token_id"),
            EosTokenIds = s.Has("eos_token_id") ? s.IntOrIntArray("eos_token_id") : [],
            PadTokenId = s.IntOrNull("pad_token_id"),
            DoSample = s.Bool("do_sample", false),
            Temperature = s.Double("temperature", 1.0),
            TopK = s.Int("top_k", 50),
            TopP = s.Double("top_p", 1.0),
            MaxNewTokens = s.IntOrNull("max_new_tokens"),
        });
    }
}
