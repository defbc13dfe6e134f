using LlavaCot.Model.Config;

namespace LlavaCot.Model.Inputs;

/// <summary>
/// Picks the tokenizer a model folder names: <c>tokenizer.json</c> (+ tokenizer_config.json) → Llama 3;
/// else <c>byte_tokenizer.json</c> → the toy byte tokenizer; else a fixture <c>manifest.json</c> whose
/// <c>tokenizer</c> starts with "byte-level" → the toy byte tokenizer.
/// </summary>
public static class TokenizerLoader
{
    /// <param name="modelDir">The checkpoint folder.</param>
    /// <param name="config">The model config; its <c>image_token_index</c> adds <c>&lt;|image|&gt;</c> where the files lack it.</param>
    public static ITokenizer Load(string modelDir, MllamaConfig? config = null)
    {
        if (!Directory.Exists(modelDir))
            throw new ConfigException($"{modelDir}: model folder not found");
        var imageTokenIndex = config?.ImageTokenIndex;
        if (File.Exists(Path.Combine(modelDir, Llama3Tokenizer.FileName)))
            return Llama3Tokenizer.Load(modelDir, imageTokenIndex);
        var byteFile = Path.Combine(modelDir, ByteTokenizer.FileName);
        if (File.Exists(byteFile))
            return ByteTokenizer.Load(byteFile, imageTokenIndex);
        var manifest = Path.Combine(modelDir, ByteTokenizer.ManifestFileName);
        if (File.Exists(manifest))
            return ByteTokenizer.Load(manifest, imageTokenIndex);
        throw new ConfigException(
            $"{modelDir}: no tokenizer found (looked for {Llama3Tokenizer.FileName}, {ByteTokenizer.FileName}, " +
            $"and a {ByteTokenizer.ManifestFileName} with a byte-level tokenizer)");
    }
}
