namespace LlavaCot.Model.Config;

/// <summary><c>config.json</c> of an MllamaForConditionalGeneration checkpoint.</summary>
public sealed record MllamaConfig(int ImageTokenIndex, MllamaTextConfig Text, MllamaVisionConfig Vision)
{
    public const string FileName = "config.json";

    /// <summary>The dtype the checkpoint was saved in (<c>torch_dtype</c>, e.g. float32, bfloat16), when the config says.</summary>
    public string? TorchDType { get; init; }

    /// <summary>Reads <c>config.json</c> from a model folder or from the named file.</summary>
    public static MllamaConfig Load(string folderOrFile)
    {
        var file = Directory.Exists(folderOrFile) ? Path.Combine(folderOrFile, FileName) : folderOrFile;
        return JsonSection.Load(file, s => Parse(s, file));
    }

    private static MllamaConfig Parse(JsonSection s, string file)
    {
        var modelType = s.String("model_type", "mllama");
        if (modelType != "mllama")
            throw new ConfigException($"{file}: model_type is '{modelType}', expected 'mllama'");
        var config = new MllamaConfig(
            s.Int("image_token_index"),
            MllamaTextConfig.Parse(s.Section("text_config")),
            MllamaVisionConfig.Parse(s.Section("vision_config")))
        {
            TorchDType = s.Has("torch_dtype") ? s.String("torch_dtype") : null,
        };
        config.Text.Validate(file);
        config.Vision.Validate(file);
        return config;
    }
}
