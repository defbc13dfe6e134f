using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlavaCot.Server.Api;

/// <summary>One JSON convention for every body: snake_case names and enum values, strict numbers, unknown fields refused.</summary>
public static class ApiJson
{
    public static JsonSerializerOptions Options { get; } = Configure(new JsonSerializerOptions());

    public static JsonSerializerOptions Configure(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        o.PropertyNameCaseInsensitive = false;
        o.NumberHandling = JsonNumberHandling.Strict;
        // Bodies are JSON or SSE data, never HTML: keep quotes and non-ASCII text readable.
        o.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        // A field the server does not know is reported, never dropped silently.
        o.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        return o;
    }

    /// <summary>
    /// Marks an event stream as not to be buffered or cached on the way: nginx honours X-Accel-Buffering per response,
    /// so SSE passes through a proxy event by event even where proxy buffering is on.
    /// </summary>
    public static void StreamUnbuffered(HttpResponse response)
    {
        response.Headers["X-Accel-Buffering"] = "no";
        response.Headers.CacheControl = "no-cache";
    }

    /// <summary>The field a deserialisation error is about and a message that says what was wrong, without .NET type names.</summary>
    public static (string Field, string Message) Describe(JsonException ex)
    {
        var path = ex.Path is { Length: > 1 } p ? p.TrimStart('$').TrimStart('.') : "";
        const string unmapped = "could not be mapped to any .NET member";
        if (ex.Message.Contains(unmapped, StringComparison.Ordinal))
        {
            var start = ex.Message.IndexOf('\'') + 1;
            var end = start > 0 ? ex.Message.IndexOf('\'', start) : -1;
            var name = end > start ? ex.Message[start..end] : "?";
            var field = path.Length == 0 ? name : path.EndsWith(name, StringComparison.Ordinal) ? path : $"{path}.{name}";
            return (field, "unknown field; it is not supported here");
        }
        if (path.Length == 0)
            return ("body", "is not a valid JSON object");
        return (path, "has the wrong type or is not valid JSON");
    }
}
