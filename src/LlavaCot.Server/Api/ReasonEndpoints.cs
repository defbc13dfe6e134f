using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using LlavaCot.Reasoning.Events;
using LlavaCot.Server.Docs;
using LlavaCot.Server.Hosting;
using Microsoft.Extensions.Options;

namespace LlavaCot.Server.Api;

/// <summary>POST /v1/reason: the search's events as Server-Sent Events, or its final answer as JSON.</summary>
public static class ReasonEndpoints
{
    public static IEndpointRouteBuilder MapReasonEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/reason", ReasonAsync)
            .WithName("Reason")
            .WithTags("Reasoning")
            .WithSummary("Answer a question about an image with staged reasoning")
            .WithDescription("Send multipart/form-data (image file + fields) or JSON (image as base64 or data: URI). " +
                             "With 'Accept: text/event-stream' the search streams as SSE events (accepted, stage_started, " +
                             "token when include_tokens, candidate_done, judge, score, vote, swires_round, kept, stage_winner, final or error), each with an id; " +
                             "otherwise the final answer comes back as JSON.")
            .WithMetadata(RequestBodyDoc.Reason)
            .DisableAntiforgery()
            .Produces<ReasonResponse>(StatusCodes.Status200OK, "application/json", "text/event-stream")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<IResult> ReasonAsync(HttpContext http, ReasonExecution execution, ModelService model, IOptions<ServerOptions> options)
    {
        var (parameters, problem) = await ReasonInput.ReadAsync(http, options.Value);
        if (problem is not null)
            return problem;
        var errors = new FieldErrors();
        var request = parameters!.ToRequest(http.TraceIdentifier, options.Value, errors, model: model.Defaults);
        if (request is null)
            return errors.ToResult();
        var (search, startProblem) = await execution.StartAsync(request, http);
        if (startProblem is not null)
            return startProblem;
        var events = execution.EventsAsync(search!, http, http.RequestAborted);
        if (WantsEventStream(http.Request))
        {
            ApiJson.StreamUnbuffered(http.Response);
            return TypedResults.ServerSentEvents(Frames(events, http.TraceIdentifier, parameters.IncludeTokens, http.RequestAborted));
        }

        var accepted = default(RequestAccepted);
        await foreach (var e in events)
        {
            switch (e)
            {
                case RequestAccepted a:
                    accepted = a;
                    break;
                case FinalAnswer f:
                    return TypedResults.Ok(new ReasonResponse(http.TraceIdentifier, execution.Model.Id, accepted!.Seed, accepted.PromptTokens, f.Result));
                case ReasonError:
                    return Problems.Internal(http);
            }
        }
        http.RequestAborted.ThrowIfCancellationRequested();
        return Problems.Internal(http);
    }

    public static bool WantsEventStream(HttpRequest request) =>
        request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase));

    /// <summary>SSE frames: event name = the event's kind, data = its JSON with the request id, id = its position.</summary>
    private static async IAsyncEnumerable<SseItem<string>> Frames(IAsyncEnumerable<ReasonEvent> events, string requestId, bool includeTokens,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var id = 0;
        await foreach (var e in events.WithCancellation(ct))
        {
            if (e is TokenDelta && !includeTokens)
                continue;
            yield return new SseItem<string>(EventJson(e, requestId), e.Kind) { EventId = (id++).ToString(CultureInfo.InvariantCulture) };
        }
    }

    public static string EventJson(ReasonEvent e, string requestId)
    {
        var node = JsonSerializer.SerializeToNode(e, e.GetType(), ApiJson.Options)!.AsObject();
        node["request_id"] = requestId;
        return node.ToJsonString(ApiJson.Options);
    }
}
