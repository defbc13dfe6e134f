using System.Text.Json;
using LlavaCot.Model.Config;

namespace LlavaCot.Model.Inputs;

/// <summary>Reading tokenizer JSON files with errors that name the file and the field.</summary>
internal static class TokenizerFile
{
    public static JsonDocument Parse(string file)
    {
        if (!File.Exists(file))
            throw new ConfigException($"{file}: file not found");
        try
        {
            var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
                return doc;
            doc.Dispose();
            throw new ConfigException($"{file}: expected a JSON object");
        }
        catch (JsonException ex)
        {
            throw new ConfigException($"{file}: not valid JSON: {ex.Message}", ex);
        }
    }

    public static JsonElement Object(JsonElement parent, string key, string file) =>
        parent.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Object
            ? v
            : throw new ConfigException($"{file}: {key} must be an object");

    /// <summary>A special-token map <c>{"&lt;|x|&gt;": id, ...}</c>.</summary>
    public static Dictionary<string, int> IdMap(JsonElement parent, string key, string file)
    {
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        var ids = new HashSet<int>();
        foreach (var p in Object(parent, key, file).EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out var id) || id < 0)
                throw new ConfigException($"{file}: {key}.{p.Name} must be a non-negative integer id");
            if (!ids.Add(id))
                throw new ConfigException($"{file}: {key}.{p.Name} reuses id {id}");
            map[p.Name] = id;
        }
        return map;
    }

    /// <summary>A token named by a config field: a plain string, or HF's AddedToken object with <c>content</c>; null when absent.</summary>
    public static string? TokenText(JsonElement parent, string key, string file)
    {
        if (!parent.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
            return null;
        if (v.ValueKind == JsonValueKind.String)
            return v.GetString();
        if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
            return c.GetString();
        throw new ConfigException($"{file}: {key} must be a string or an object with a content string");
    }

    public static bool Bool(JsonElement parent, string key, bool fallback, string file)
    {
        if (!parent.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
            return fallback;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ConfigException($"{file}: {key} must be true or false"),
        };
    }
}
