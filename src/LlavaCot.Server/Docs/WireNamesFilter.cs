using System.Text.Json.Nodes;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Server.Api;
using LlavaCot.Server.OpenAi;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace LlavaCot.Server.Docs;

/// <summary>
/// Lists the values of the JSON bodies' string fields that take a wire name (a mode, a scorer), which the contracts
/// keep as strings so that a wrong one is answered with a 400 naming the field.
/// </summary>
public sealed class WireNamesFilter : ISchemaFilter
{
    private static readonly Dictionary<string, IEnumerable<string>> Fields = new(StringComparer.Ordinal)
    {
        ["mode"] = ReasoningModes.ByName.Keys,
        ["reasoning_mode"] = ReasoningModes.ByName.Keys,
        ["scorer"] = Scorers.ByName.Keys,
    };

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (!typeof(SearchSettings).IsAssignableFrom(context.Type) && context.Type != typeof(ChatCompletionRequest) || schema.Properties is null)
            return;
        foreach (var (name, property) in schema.Properties)
        {
            if (Fields.TryGetValue(name, out var values) && property is OpenApiSchema field)
                field.Enum = values.Select(v => (JsonNode)JsonValue.Create(v)).ToList();
        }
    }

    /// <summary>The values of a multipart form field that takes a wire name, or null.</summary>
    public static IList<JsonNode>? FormValues(string field) =>
        field is "mode" or "scorer" ? Fields[field].Select(v => (JsonNode)JsonValue.Create(v)).ToList() : null;
}
