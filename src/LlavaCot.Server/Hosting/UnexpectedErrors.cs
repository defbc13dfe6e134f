using LlavaCot.Server.Api;
using Microsoft.AspNetCore.Diagnostics;

namespace LlavaCot.Server.Hosting;

/// <summary>
/// Any exception no endpoint turned into an answer: logged with the request id and the stack, answered with a
/// problem+json that carries the request id and a generic text, never the exception's message or type.
/// </summary>
public sealed class UnexpectedErrors(IProblemDetailsService problems, ILogger<UnexpectedErrors> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        log.LogError(exception, "Request {RequestId} failed: {Method} {Path}", http.TraceIdentifier, http.Request.Method, http.Request.Path.Value);
        if (http.Response.HasStarted)
            return true;
        http.Response.Clear();
        http.Response.StatusCode = StatusCodes.Status500InternalServerError;
        http.Response.Headers[RequestPipeline.Header] = http.TraceIdentifier;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            Exception = null,
            ProblemDetails =
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = Problems.InternalTitle,
                Detail = Problems.InternalDetail(http),
            },
        });
    }
}
