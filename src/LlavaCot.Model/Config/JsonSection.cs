using System.Text.Json;

namespace LlavaCot.Model.Config;

/// <summary>Typed, error-reporting access to one JSON object of a config file. Unknown fields are ignored.</summary>
internal sealed class JsonSection(JsonElement element, string file, string path)
{
    public static T Load<T>(string file, Func<JsonSection, T> parse)
    {
        if (!File.Exists(file))
            throw new ConfigException($"{file}: file not found");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ConfigException($"{file}: expected a JSON object");
            return parse(new JsonSection(doc.RootElement, file, ""));
        }
        catch (JsonException ex)
        {
            throw new ConfigException($"{file}: not valid JSON: {ex.Message}", ex);
        }
    }

    private string Name(string key) => path.Length == 0 ? key : $"{path}.{key}";

    public ConfigException Error(string key, string what) => new($"{file}: {Name(key)} {what}");

    public bool Has(string key) =>
        element.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    private JsonElement Get(string key) =>
        element.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null
            ? v
            : throw Error(key, "is required");

    public JsonSection Section(string key)
    {
        var v = Get(key);
        return v.ValueKind == JsonValueKind.Object
            ? new JsonSection(v, file, Name(key))
            : throw Error(key, "must be an object");
    }

    public int Int(string key) => ToInt(key, Get(key));

    public int Int(string key, int fallback) => Has(key) ? Int(key) : fallback;

    public int? IntOrNull(string key) => Has(key) ? Int(key) : null;

    public double Double(string key)
    {
        var v = Get(key);
        return v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw Error(key, "must be a number");
    }

    public double Double(string key, double fallback) => Has(key) ? Double(key) : fallback;

    public bool Bool(string key, bool fallback)
    {
        if (!Has(key))
            return fallback;
        var v = Get(key);
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(key, "must be true or false"),
        };
    }

    public string String(string key)
    {
        var v = Get(key);
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Error(key, "must be a string");
    }

    public string String(string key, string fallback) => Has(key) ? String(key) : fallback;

    public int[] IntArray(string key)
    {
        var v = Get(key);
        if (v.ValueKind != JsonValueKind.Array)
            throw Error(key, "must be an array of integers");
        return v.EnumerateArray().Select(x => ToInt(key, x)).ToArray();
    }

    public double[] DoubleArray(string key)
    {
        var v = Get(key);
        if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.Number))
            throw Error(key, "must be an array of numbers");
        return v.EnumerateArray().Select(x => x.GetDouble()).ToArray();
    }

    /// <summary>An integer or a list of integers (HF writes eos_token_id either way).</summary>
    public int[] IntOrIntArray(string key)
    {
        var v = Get(key);
        return v.ValueKind == JsonValueKind.Array ? IntArray(key) : [ToInt(key, v)];
    }

    public int[][] IntMatrix(string key)
    {
        var v = Get(key);
        if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.Array))
            throw Error(key, "must be an array of integer arrays");
        return v.EnumerateArray().Select(r => r.EnumerateArray().Select(x => ToInt(key, x)).ToArray()).ToArray();
    }

    private int ToInt(string key, JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i))
            return i;
        // HF sometimes writes integral floats (e.g. 8192.0).
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue)
            return (int)d;
        throw Error(key, "must be an integer");
    }
}
