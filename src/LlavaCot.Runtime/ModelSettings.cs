using System.Text.Json;
using LlavaCot.Model.Config;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Scoring;

namespace LlavaCot.Runtime;

/// <summary>What a model folder's <c>llavacot.json</c> says; every field is optional.</summary>
/// <param name="DefaultMode">The mode a request that names none runs.</param>
/// <param name="DefaultScorer">The scorer of a request that names neither mode nor scorer (null: the mode's own default).</param>
public sealed record ModelFolderSettings(string? Name, string? Description, int? JudgeMaxNewTokens, double? SwiresCutoff,
    ReasoningMode? DefaultMode, ScorerKind? DefaultScorer);

/// <summary>
/// <c>llavacot.json</c> in a model folder: what LlavaCot should know about a model that Hugging Face files do not
/// say. <c>name</c> is the model id clients see (default: the folder's name); <c>description</c> is shown in /v1/models;
/// <c>judge_max_new_tokens</c> caps judge replies for a model whose verdicts are short (the server's own limit still
/// applies when it is smaller); <c>swires_cutoff</c> (0..1) is the swires mode's cutoff for this model's verifier scores,
/// which a request may still override; <c>default_mode</c> and <c>default_scorer</c> are what a request that names
/// neither runs (a scorer the mode does not take is refused at load).
/// </summary>
public static class ModelSettings
{
    public const string FileName = "llavacot.json";

    /// <summary>The folder's settings, the file read once; all null when it has no <c>llavacot.json</c>.</summary>
    public static ModelFolderSettings Load(string modelDir)
    {
        var file = Path.Combine(modelDir, FileName);
        if (!File.Exists(file))
            return new ModelFolderSettings(null, null, null, null, null, null);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            var root = doc.RootElement;
            var settings = new ModelFolderSettings(
                Read(file, root, "name", "a non-empty string without surrounding spaces", e =>
                    e.ValueKind == JsonValueKind.String && e.GetString() is { Length: > 0 } name && name.Trim() == name ? name : null),
                Read(file, root, "description", "a string", e => e.ValueKind == JsonValueKind.String ? e.GetString() : null),
                Read(file, root, "judge_max_new_tokens", "a whole number, 1 or more", e =>
                    e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var n) && n >= 1 ? n : (int?)null),
                Read(file, root, "swires_cutoff", "a number in 0..1 (a verifier score, P(correct))", e =>
                    e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var c) && c is >= 0 and <= 1 ? c : (double?)null),
                Read(file, root, "default_mode", $"one of {string.Join(", ", ReasoningModes.ByName.Keys)}", e =>
                    e.ValueKind == JsonValueKind.String && ReasoningModes.ByName.TryGetValue(e.GetString()!, out var m) ? m : (ReasoningMode?)null),
                Read(file, root, "default_scorer", $"one of {string.Join(", ", Scorers.ByName.Keys)}", e =>
                    e.ValueKind == JsonValueKind.String && Scorers.ByName.TryGetValue(e.GetString()!, out var k) ? k : (ScorerKind?)null));
            if (settings.DefaultScorer is { } scorer && !Scorers.For(settings.DefaultMode ?? new ReasonOptions().Mode).Contains(scorer))
                throw new ConfigException($"{file}: default_scorer {Scorers.Name(scorer)} does not apply to the default mode " +
                                          $"{ReasoningModes.Name(settings.DefaultMode ?? new ReasonOptions().Mode)}");
            return settings;
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
