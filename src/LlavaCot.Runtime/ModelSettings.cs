using System.Text.Json;
using LlavaCot.Model.Config;

namespace LlavaCot.Runtime;

/// <summary>
/// <c>llavacot.json</c> in a model folder: what LlavaCot should know about a model that Hugging Face files do not
/// say. <c>name</c> is the model id clients see (default: the folder's name); <c>description</c> is shown in /v1/models;
/// <c>judge_max_new_tokens</c> caps judge replies for a model whose verdicts are short (the server's own limit still
/// applies when it is smaller); <c>swires_cutoff</c> (0..1) is the swires mode's cutoff for this model's verifier scores,
/// which a request may still override.
/// </summary>
public static class ModelSettings
{
    public const string FileName = "llavacot.json";

    /// <summary>The folder's settings, the file read once; none when it has no <c>llavacot.json</c>.</summary>
    public static (string? Name, string? Description, int? JudgeMaxNewTokens, double? SwiresCutoff) Load(string modelDir)
    {
        var file = Path.Combine(modelDir, FileName);
        if (!File.Exists(file))
            return default;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            var root = doc.RootElement;
            return (
                Read(file, root, "name", "a non-empty string without surrounding spaces", e =>
                    e.ValueKind == JsonValueKind.String && e.GetString() is { Length: > 0 } name && name.Trim() == name ? name : null),
                Read(file, root, "description", "a string", e => e.ValueKind == JsonValueKind.String ? e.GetString() : null),
                Read(file, root, "judge_max_new_tokens", "a whole number, 1 or more", e =>
                    e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var n) && n >= 1 ? n : (int?)null),
                Read(file, root, "swires_cutoff", "a number in 0..1 (a verifier score, P(correct))", e =>
                    e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var c) && c is >= 0 and <= 1 ? c : (double?)null));
        }
        catch (JsonException ex)
        {
            throw new ConfigException($"{file}: not valid JSON: {ex.Message}", ex);
        }
    }

    private static T? Read<T>(string file, JsonElement root, string key, string expected, Func<JsonElement, T?> parse) =>
        root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(key, out var value)
            ? default
            : parse(value) ?? throw new ConfigException($"{file}: {key} has an unusable value, {value.GetRawText()}; it must be {expected}");
}
