using LlavaCot.Server.Api;
using LlavaCot.Server.Hosting;

namespace LlavaCot.Server.Ops;

/// <summary>Probes and metrics: /health/live, /health/ready, /metrics.</summary>
public static class OpsEndpoints
{
    /// <summary>A probe's answer.</summary>
    /// <param name="Status">live, ready or loading.</param>
    /// <param name="Model">The model id once loaded.</param>
    public sealed record HealthStatus(string Status, string? Model);

    public static IEndpointRouteBuilder MapOpsEndpoints(this IEndpointRouteBuilder app)
    {
        var health = app.MapGroup("/health").WithTags("Operations");
        health.MapGet("/live", () => TypedResults.Ok(new HealthStatus("live", null)))
            .WithName("Live")
            .WithSummary("The process is up");
        health.MapGet("/ready", Ready)
            .WithName("Ready")
            .WithSummary("200 once the model is loaded, 503 before")
            .Produces<HealthStatus>()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapGet("/metrics", (ServerMetrics metrics) => TypedResults.Text(metrics.Render(), "text/plain; version=0.0.4; charset=utf-8"))
            .WithName("Metrics")
            .WithTags("Operations")
            .WithSummary("Prometheus text format: requests, queue depth, tokens, stage and judge latencies")
            .Produces<string>(StatusCodes.Status200OK, "text/plain");
        return app;
    }

    private static IResult Ready(ModelService model, HttpContext http) => model.IsReady
        ? TypedResults.Ok(new HealthStatus("ready", model.Model.Id))
        : Problems.RetryLater(http, StatusCodes.Status503ServiceUnavailable, "Model not ready", "the model is still loading", 1);
}
