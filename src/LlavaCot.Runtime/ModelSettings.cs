using System.Text.Json;
using LlavaCot.Model.Config;

namespace LlavaCot.Runtime;

/// <summary>
/// <c>llavacot.json</c> in a model folder: what LlavaCot should know about a model that Hugging Face files do not
/// say. <c>name</c> is the model id clients see (default: the folder's name); <c>description</c> is shown in /v1/models;
/// <c>judge_max_new_tokens</c> caps judge replies for a model whose verdicts are short (the server's own limit still
/// applies when it is smaller).
/// </summary>
public static class ModelSettings
{
    public const string FileName = "llavacot.json";

    /// <summary>The folder's settings, the file read once; none when it has no <c>llavacot.json</c>.</summary>
    public static (string? Name, string? Description, int? JudgeMaxNewTokens) Load(string modelDir)
    {
        var file = Path.Combine(modelDir, FileName);
        if (!File.Exists(file))
            return default;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            var root = doc.RootElement;
            return (
                Read(file, root, "name", e =>
                    e.ValueKind == JsonValueKind.String && e.GetString() is { Length: > 0 } name && name.Trim() == name ? name : null),
                Read(file, root, "description", e => e.ValueKind == JsonValueKind.String ? e.GetString() : null),
                Read(file, root, "judge_max_new_tokens", e =>
                    e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var n) && n >= 1 ? n : (int?)null));
        }
        catch (JsonException ex)
        {
            throw new ConfigException($"{file}: not valid JSON: {ex.Message}", ex);
        }
    }

    private static T? Read<T>(string file, JsonElement root, string key, Func<JsonElement, T?> parse) =>
        root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(key, out var value)
            ? default
            : parse(value) ?? throw new ConfigException($"{file}: {key} has an unusable value");
}
