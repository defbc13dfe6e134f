using Microsoft.AspNetCore.Http.HttpResults;

namespace LlavaCot.Server.Api;

/// <summary>The problem+json answers every endpoint gives (RFC 9457); the request id is added by the problem details service.</summary>
public static class Problems
{
    public static ProblemHttpResult Status(int status, string title, string detail) =>
        TypedResults.Problem(detail, statusCode: status, title: title);

    public static ValidationProblem Field(string field, string message) =>
        Fields(new Dictionary<string, string[]> { [field] = [message] });

    public static ValidationProblem Fields(IDictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors,
            detail: string.Join("; ", errors.SelectMany(e => e.Value.Select(m => $"{e.Key}: {m}"))),
            title: errors.Count == 1 ? $"Invalid field '{errors.Keys.Single()}'" : "Invalid fields");

    public static ProblemHttpResult UnsupportedMediaType(string? contentType) => Status(StatusCodes.Status415UnsupportedMediaType,
        "Unsupported media type",
        $"Content-Type '{contentType ?? "(none)"}' is not accepted; send multipart/form-data or application/json");

    public static ProblemHttpResult UnsupportedImageType(string contentType) => Status(StatusCodes.Status415UnsupportedMediaType,
        "Unsupported media type",
        $"the image part is '{contentType}', not an image; send a JPEG, PNG, WebP, GIF or BMP file");

    public static ProblemHttpResult TooLarge(long limit) => Status(StatusCodes.Status413PayloadTooLarge,
        "Request body too large", $"the request body exceeds the limit of {limit} bytes");

    public static ProblemHttpResult BadImage(string reason) => Status(StatusCodes.Status422UnprocessableEntity,
        "The image could not be used", reason);

    public const string InternalTitle = "Internal server error";

    /// <summary>A failure that is not the client's: a generic text only (the details are in the log under the request id).</summary>
    public static ProblemHttpResult Internal(HttpContext http) =>
        Status(StatusCodes.Status500InternalServerError, InternalTitle, InternalDetail(http));

    public static string InternalDetail(HttpContext http) =>
        $"the server could not answer this request; its log has the details under request id {http.TraceIdentifier}";

    /// <summary>503 while the model loads (the API's endpoints; the readiness probe says it its own way).</summary>
    public static ProblemHttpResult ModelNotReady(HttpContext http, int retryAfterSeconds) =>
        RetryLater(http, StatusCodes.Status503ServiceUnavailable, "Model not ready", "the model is still loading; see /health/ready", retryAfterSeconds);

    public static ProblemHttpResult RetryLater(HttpContext http, int status, string title, string detail, int retryAfterSeconds)
    {
        http.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Status(status, title, detail);
    }
}
