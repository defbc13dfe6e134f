using System.Text.Json.Nodes;
using LlavaCot.Server.Api;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace LlavaCot.Server.Docs;

/// <summary>Writes the request bodies (the multipart form with its file picker, the JSON bodies) and examples of <see cref="RequestBodyDoc"/>.</summary>
public sealed class RequestBodyFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var doc = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<RequestBodyDoc>().FirstOrDefault();
        if (doc is null)
            return;
        operation.RequestBody = new OpenApiRequestBody { Required = true, Content = Content(doc.Bodies, context) };
        if (operation.Responses?.TryGetValue("200", out var ok) == true && ok is OpenApiResponse response)
            response.Content = Content(doc.Responses, context);
    }

    private static Dictionary<string, IOpenApiMediaType> Content(IEnumerable<RequestBodyDoc.Body> bodies, OperationFilterContext context) =>
        bodies.ToDictionary(b => b.ContentType, b => (IOpenApiMediaType)new OpenApiMediaType
        {
            Schema = b.SchemaTypes switch
            {
                [] => FormSchema(),
                [var one] => context.SchemaGenerator.GenerateSchema(one, context.SchemaRepository),
                var many => new OpenApiSchema { OneOf = many.Select(t => context.SchemaGenerator.GenerateSchema(t, context.SchemaRepository)).ToList() },
            },
            Example = b.Example.DeepClone(),
        });

    /// <summary>The multipart form: <c>image</c> as a binary string (Swagger UI shows a file picker), the rest as plain fields.</summary>
    private static OpenApiSchema FormSchema() => new()
    {
        Type = JsonSchemaType.Object,
        Required = new HashSet<string> { "question" },
        Properties = ReasonInput.FormFields.ToDictionary(f => f.Name, f => (IOpenApiSchema)new OpenApiSchema
        {
            Type = f.Type switch
            {
                "file" or "string" => JsonSchemaType.String,
                "integer" => JsonSchemaType.Integer,
                "number" => JsonSchemaType.Number,
                _ => JsonSchemaType.Boolean,
            },
            Format = f.Type == "file" ? "binary" : null,
            Examples = f.Example is null ? null : [f.Type is "string" ? JsonValue.Create(f.Example) : JsonNode.Parse(f.Example)!],
            Description = f.Description,
            Enum = WireNamesFilter.FormValues(f.Name),
        }),
    };
}
