using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;
using LlavaCot.Server.Api;
using LlavaCot.Server.Docs;
using LlavaCot.Server.Hosting;
using Microsoft.Extensions.Options;

namespace LlavaCot.Server.OpenAi;

/// <summary>The OpenAI-compatible surface: POST /v1/chat/completions and GET /v1/models.</summary>
public static class ChatEndpoints
{
    public static IEndpointRouteBuilder MapOpenAiEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1").WithTags("OpenAI compatible");
        group.MapPost("/chat/completions", ChatAsync)
            .WithName("ChatCompletions")
            .WithSummary("OpenAI chat completion answered by the staged search")
            .WithDescription("A conversation ending with the user's question (an optional first system message without an image, " +
                             "user and assistant turns), with at most one image_url: a data: URI, or an http(s) URL from a host on " +
                             "LlavaCot:ImageUrlHosts. n (1..4) runs that many independent searches, choice i seeded with seed + i. By default (reasoning_format split) the " +
                             "stages before the CONCLUSION, tags kept, are in message.reasoning_content (and reasoning) and the conclusion's " +
                             "text alone in content (empty, with finish_reason saying why, when no CONCLUSION was completed); reasoning_format " +
                             "tagged puts the whole tagged answer in content. With stream=true, chat.completion.chunk events carry the stage " +
                             "winners as reasoning_content deltas and the conclusion as a content delta, then [DONE]. " +
                             "logprobs (with top_logprobs 0..20) returns each answer token's raw log-probability: content's tokens in " +
                             "choices[i].logprobs.content, the reasoning's in logprobs.reasoning_content; each chunk carries those of its text. " +
                             "Extras: reasoning_mode, scorer, swires_cutoff, beam_size, top_k, reasoning_format; the response's 'llavacot' field holds the search's details. " +
                             "Unknown fields are ignored (as OpenAI does) and named in llavacot.ignored_fields and X-LlavaCot-Ignored-Fields.")
            .WithMetadata(RequestBodyDoc.Chat)
            .Produces<ChatCompletion>(StatusCodes.Status200OK, "application/json", "text/event-stream")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapGet("/models", Models)
            .WithName("ListModels")
            .WithSummary("The served model (OpenAI list format)")
            .Produces<ModelList>()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static IResult Models(ModelService model, HttpContext http, IOptions<ServerOptions> options)
    {
        if (!model.IsReady)
            return Problems.ModelNotReady(http, options.Value.RetryAfterSeconds);
        var m = model.Model;
        var created = new DateTimeOffset(File.GetLastWriteTimeUtc(Path.Combine(m.Directory, "config.json"))).ToUnixTimeSeconds();
        return TypedResults.Ok(new ModelList("list", [new ModelCard(m.Id, "model", created, "llavacot", m.Description, m.Device, m.DType, m.DTypeReason, m.SwiresCutoff, m.Weights)]));
    }

    /// <summary>Most independent searches one chat request may ask for (OpenAI's n).</summary>
    public const int MaxChoices = 4;

    private static async Task<IResult> ChatAsync(HttpContext http, ReasonExecution execution, ModelService model, ImageUrlFetcher images,
        IOptions<ServerOptions> options, ILogger<ChatCompletionRequest> log)
    {
        var limits = options.Value;
        var (body, problem) = await RequestBody.ReadAsync(http, limits, () => http.Request.HasJsonContentType()
            ? RequestBody.JsonAsync<ChatCompletionRequest>(http.Request, http.RequestAborted)
            : Task.FromResult<(ChatCompletionRequest?, IResult?)>((null, Problems.Status(StatusCodes.Status415UnsupportedMediaType,
                "Unsupported media type", $"Content-Type '{http.Request.ContentType ?? "(none)"}' is not accepted; send application/json"))));
        if (body is null)
            return problem!;
        // OpenAI ignores fields it does not know; so do we, but the reply names them.
        var ignored = body.Unknown?.Keys.Order(StringComparer.Ordinal).ToList() ?? [];
        if (ignored.Count > 0)
            http.Response.Headers["X-LlavaCot-Ignored-Fields"] = string.Join(",", ignored);
        if (body.User is not null || ignored.Count > 0)
            log.LogInformation("Chat request {RequestId} from user {User}; ignored fields: {Ignored}", http.TraceIdentifier, body.User ?? "-",
                ignored.Count > 0 ? string.Join(",", ignored) : "none");
        if (model.IsReady && body.Model is { } asked && asked != model.Model.Id)
            return Problems.Status(StatusCodes.Status404NotFound, "Model not found",
                $"model '{asked}' is not served here; GET /v1/models lists '{model.Model.Id}'");
        var errors = new FieldErrors();
        var conversation = ChatConversation.Read(body.Messages ?? [], errors);
        CheckFields(body, limits, errors);
        var image = conversation?.Image is { } source && !errors.Any ? await images.ReadAsync(source, errors, http.RequestAborted) : null;
        var parameters = errors.Any ? null : ToParameters(body, conversation!, image, errors);
        var request = parameters?.ToRequest(http.TraceIdentifier, limits, errors, new ReasonParameters.Names(Question: "messages",
            Mode: "reasoning_mode", MaxAnswerTokens: body.MaxCompletionTokens is null ? "max_tokens" : "max_completion_tokens", History: "messages"),
            model.Defaults);
        if (request is null)
            return errors.ToResult();
        var requests = Choices(request, body.N ?? 1);
        // Lives as long as the response: a stream outlasts this method.
        var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        http.Response.RegisterForDispose(stop);
        var (choices, startProblem) = await execution.StartChoicesAsync(requests, http, stop.Token);
        if (startProblem is not null)
            return startProblem;
        var split = (body.ReasoningFormat ?? limits.ReasoningFormat) == "split";
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var replies = requests.Select(r => new ChatReply(split, model.Host.Generator.Inputs.Tokenizer, r.Options)).ToList();
        var chat = new Chat(http.TraceIdentifier, execution.Model, created, ignored, replies);
        var events = Merge(choices!, stop);
        if (body.Stream == true)
        {
            ApiJson.StreamUnbuffered(http.Response);
            return TypedResults.ServerSentEvents(Chunks(chat, events, body.StreamOptions?.IncludeUsage == true, http.RequestAborted));
        }
        var results = new ReasonResult?[replies.Count];
        await foreach (var (i, e) in events)
        {
            replies[i].See(e);
            if (e is FinalAnswer f)
                results[i] = f.Result;
            if (e is ReasonError)
                return Problems.Internal(http);
        }
        http.RequestAborted.ThrowIfCancellationRequested();
        return results.All(r => r is not null) ? TypedResults.Ok(chat.Completion(results!)) : Problems.Internal(http);
    }

    /// <summary>The request once per choice: choice i seeded with the request's seed (or one picked here) + i.</summary>
    private static IReadOnlyList<ReasonRequest> Choices(ReasonRequest request, int n)
    {
        if (n == 1)
            return [request];
        var seed = request.Options.Seed ?? BitConverter.ToUInt64(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        return Enumerable.Range(0, n).Select(i => request with { Options = request.Options with { Seed = unchecked(seed + (ulong)i) } }).ToList();
    }

    /// <summary>
    /// The choices' events as they come, tagged with the choice. Leaving early (an error, a client gone) stops the
    /// searches still running.
    /// </summary>
    private static async IAsyncEnumerable<(int Choice, ReasonEvent Event)> Merge(IReadOnlyList<IAsyncEnumerable<ReasonEvent>> choices,
        CancellationTokenSource stop)
    {
        var channel = System.Threading.Channels.Channel.CreateUnbounded<(int, ReasonEvent)>();
        var pumps = choices.Select(async (events, i) =>
        {
            await foreach (var e in events.WithCancellation(stop.Token))
                await channel.Writer.WriteAsync((i, e), stop.Token);
        }).ToList();
        _ = Task.WhenAll(pumps).ContinueWith(t => channel.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        try
        {
            await foreach (var item in channel.Reader.ReadAllAsync(stop.Token))
                yield return item;
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await Task.WhenAll(pumps);
            }
            catch (OperationCanceledException)
            {
                // The searches were stopped on purpose.
            }
        }
    }

    /// <summary>
    /// OpenAI stream framing: data-only SSE, per choice a role chunk, its stage winners as deltas and a finish chunk;
    /// usage if asked once every choice is done; [DONE].
    /// </summary>
    private static async IAsyncEnumerable<SseItem<string>> Chunks(Chat chat, IAsyncEnumerable<(int Choice, ReasonEvent Event)> events,
        bool includeUsage, [EnumeratorCancellation] CancellationToken ct)
    {
        var results = new ReasonResult?[chat.Replies.Count];
        await foreach (var (i, e) in events.WithCancellation(ct))
        {
            var reply = chat.Replies[i];
            reply.See(e);
            switch (e)
            {
                case RequestAccepted:
                    yield return Data(chat.Chunk(i, new ChunkDelta("assistant", ""), null));
                    break;
                case StageWinner w:
                    foreach (var (delta, logprobs) in reply.Deltas(w.Text))
                        yield return Data(chat.Chunk(i, delta, null, logprobs));
                    break;
                case FinalAnswer f:
                    results[i] = f.Result;
                    yield return Data(chat.Chunk(i, new ChunkDelta(null, null), reply.FinishReason));
                    if (results.Any(r => r is null))
                        break;
                    if (includeUsage)
                        yield return Data(chat.UsageChunk(results!));
                    yield return new SseItem<string>("[DONE]");
                    yield break;
                case ReasonError error:
                    yield return new SseItem<string>(JsonSerializer.Serialize(new { error = new { message = error.Message, type = "server_error" } }, ApiJson.Options));
                    yield break;
            }
        }
    }

    private static SseItem<string> Data<T>(T value) => new(JsonSerializer.Serialize(value, ApiJson.Options));

    /// <summary>The fields checked apart from the messages: values this server cannot honour are refused, naming the field.</summary>
    private static void CheckFields(ChatCompletionRequest body, ServerOptions limits, FieldErrors errors)
    {
        if (body.Model is null)
            errors.Add("model", "is required (see GET /v1/models)");
        if (body.N is { } n && n is < 1 or > MaxChoices)
            errors.Add("n", $"must lie in 1..{MaxChoices}, got {n}");
        else if (body.N is { } wanted && wanted > limits.MaxConcurrentSearches + limits.QueueLength)
            errors.Add("n", $"{wanted} searches can never be admitted together here: the server runs {limits.MaxConcurrentSearches} " +
                            $"and queues {limits.QueueLength}");
        if (body.TopLogprobs is not null && body.Logprobs != true)
            errors.Add("top_logprobs", "needs logprobs true");
        if (body.MaxTokens is { } a && body.MaxCompletionTokens is { } b && a != b)
            errors.Add("max_completion_tokens", $"disagrees with max_tokens ({b} vs {a}); send one");
        if (body.Seed is < 0)
            errors.Add("seed", $"must be 0 or more, got {body.Seed}");
        if (body.StreamOptions is not null && body.Stream != true)
            errors.Add("stream_options", "is only allowed with stream=true");
        if (body.ReasoningFormat is { } format && !ServerOptions.ReasoningFormats.Contains(format))
            errors.Add("reasoning_format", $"must be split or tagged, got '{body.ReasoningFormat}'");
    }

    private static ReasonParameters? ToParameters(ChatCompletionRequest body, ChatConversation conversation, byte[]? image, FieldErrors errors)
    {
        var stops = StopStrings(body.Stop, errors);
        if (errors.Any)
            return null;
        return new ReasonParameters
        {
            Image = image,
            Question = conversation.Question,
            History = conversation.History,
            StopStrings = stops,
            TopLogProbs = body.Logprobs == true ? body.TopLogprobs ?? 0 : null,
            Search = new SearchSettings
            {
                Mode = body.ReasoningMode,
                Scorer = body.Scorer,
                SwiresCutoff = body.SwiresCutoff,
                BeamSize = body.BeamSize,
                Temperature = body.Temperature,
                TopP = body.TopP,
                TopK = body.TopK,
                MaxAnswerTokens = body.MaxCompletionTokens ?? body.MaxTokens,
                Seed = body.Seed is { } s ? (ulong)s : null,
                Date = body.Date,
            },
        };
    }

    /// <summary>OpenAI's stop: null, one string, or a list of up to four non-empty strings.</summary>
    private static IReadOnlyList<string> StopStrings(JsonElement stop, FieldErrors errors)
    {
        switch (stop.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return [];
            case JsonValueKind.String when stop.GetString() is { Length: > 0 } one:
                return [one];
            case JsonValueKind.Array when stop.GetArrayLength() <= 4 && stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String && s.GetString()!.Length > 0):
                return stop.EnumerateArray().Select(s => s.GetString()!).ToList();
            default:
                errors.Add("stop", "must be a non-empty string or a list of at most 4 non-empty strings");
                return [];
        }
    }
}
