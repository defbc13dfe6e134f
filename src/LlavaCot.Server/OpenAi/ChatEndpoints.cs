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
            .WithDescription("One user message with text and an image_url data: URI. By default (reasoning_format split) the " +
                             "stages before the CONCLUSION, tags kept, are in message.reasoning_content (and reasoning) and the conclusion's " +
                             "text alone in content (empty, with finish_reason saying why, when no CONCLUSION was completed); reasoning_format " +
                             "tagged puts the whole tagged answer in content. With stream=true, chat.completion.chunk events carry the stage " +
                             "winners as reasoning_content deltas and the conclusion as a content delta, then [DONE]. " +
                             "Extras: reasoning_mode, beam_size, top_k, reasoning_format; the response's 'llavacot' field holds the search's details. " +
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
            return Problems.RetryLater(http, StatusCodes.Status503ServiceUnavailable, "Model not ready",
                "the model is still loading; see /health/ready", options.Value.RetryAfterSeconds);
        var m = model.Model;
        var created = new DateTimeOffset(File.GetLastWriteTimeUtc(Path.Combine(m.Directory, "config.json"))).ToUnixTimeSeconds();
        return TypedResults.Ok(new ModelList("list", [new ModelCard(m.Id, "model", created, "llavacot", m.RandomWeights, m.Description, m.Device, m.DType, m.DTypeReason)]));
    }

    private static async Task<IResult> ChatAsync(HttpContext http, ReasonExecution execution, ModelService model, IOptions<ServerOptions> options,
        ILogger<ChatCompletionRequest> log)
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
        var parameters = ToParameters(body, errors);
        var request = parameters?.ToRequest(http.TraceIdentifier, limits, errors, new ReasonParameters.Names(Question: "messages",
            Mode: "reasoning_mode", MaxAnswerTokens: body.MaxCompletionTokens is null ? "max_tokens" : "max_completion_tokens"));
        if (request is null)
            return errors.ToResult();
        var (run, startProblem) = await execution.StartAsync(request, http);
        if (startProblem is not null)
            return startProblem;
        var reply = new Reply(http.TraceIdentifier, execution.Model, DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            split: (body.ReasoningFormat ?? limits.ReasoningFormat) == "split", ignored, model.Host.Generator.Inputs.Tokenizer, request.Options);
        var events = execution.EventsAsync(run!, http, http.RequestAborted);
        if (body.Stream == true)
        {
            ApiJson.StreamUnbuffered(http.Response);
            return TypedResults.ServerSentEvents(Chunks(reply, events, body.StreamOptions?.IncludeUsage == true, http.RequestAborted));
        }
        await foreach (var e in events)
        {
            reply.See(e);
            if (e is FinalAnswer f)
                return TypedResults.Ok(reply.Completion(f.Result));
            if (e is ReasonError)
                return Problems.Internal(http);
        }
        http.RequestAborted.ThrowIfCancellationRequested();
        return Problems.Internal(http);
    }

    /// <summary>OpenAI stream framing: data-only SSE, one content delta per stage winner, a finish chunk, usage if asked, [DONE].</summary>
    private static async IAsyncEnumerable<SseItem<string>> Chunks(Reply reply, IAsyncEnumerable<ReasonEvent> events, bool includeUsage,
        [EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var e in events.WithCancellation(ct))
        {
            reply.See(e);
            switch (e)
            {
                case RequestAccepted:
                    yield return Data(reply.Chunk(new ChunkDelta("assistant", ""), null));
                    break;
                case StageWinner w:
                    foreach (var delta in reply.Deltas(w.Text))
                        yield return Data(reply.Chunk(delta, null));
                    break;
                case FinalAnswer f:
                    yield return Data(reply.Chunk(new ChunkDelta(null, null), reply.FinishReason));
                    if (includeUsage)
                        yield return Data(reply.UsageChunk(f.Result));
                    yield return new SseItem<string>("[DONE]");
                    yield break;
                case ReasonError error:
                    yield return new SseItem<string>(JsonSerializer.Serialize(new { error = new { message = error.Message, type = "server_error" } }, ApiJson.Options));
                    yield break;
            }
        }
    }

    private static SseItem<string> Data<T>(T value) => new(JsonSerializer.Serialize(value, ApiJson.Options));

    /// <summary>One user turn: its text parts joined by newlines, at most one image as a data: URI.</summary>
    private static ReasonParameters? ToParameters(ChatCompletionRequest body, FieldErrors errors)
    {
        if (body.Model is null)
            errors.Add("model", "is required (see GET /v1/models)");
        if (body.N is { } n && n != 1)
            errors.Add("n", $"only 1 is supported, got {n}");
        if (body.Logprobs == true)
            errors.Add("logprobs", "is not supported");
        if (body.MaxTokens is { } a && body.MaxCompletionTokens is { } b && a != b)
            errors.Add("max_completion_tokens", $"disagrees with max_tokens ({b} vs {a}); send one");
        if (body.Seed is < 0)
            errors.Add("seed", $"must be 0 or more, got {body.Seed}");
        if (body.StreamOptions is not null && body.Stream != true)
            errors.Add("stream_options", "is only allowed with stream=true");
        var stops = StopStrings(body.Stop, errors);
        if (body.ReasoningFormat is { } format && !ServerOptions.ReasoningFormats.Contains(format))
            errors.Add("reasoning_format", $"must be split or tagged, got '{body.ReasoningFormat}'");
        var messages = body.Messages ?? [];
        if (messages.Count == 0)
            errors.Add("messages", "is required: one message with role user");
        string? question = null;
        byte[]? image = null;
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            var at = $"messages[{i}]";
            if (m.Role != "user")
            {
                errors.Add($"{at}.role", $"'{m.Role}' is not supported: LLaVA-CoT answers a single user turn (no system prompt, no history)");
                continue;
            }
            if (question is not null)
            {
                errors.Add(at, "only one user message is supported");
                continue;
            }
            question = ReadContent(m.Content, at, errors, ref image) ?? "";
        }
        if (errors.Any)
            return null;
        return new ReasonParameters
        {
            Image = image,
            Question = question,
            StopStrings = stops,
            Search = new SearchSettings
            {
                Mode = body.ReasoningMode,
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

    private static string? ReadContent(JsonElement content, string at, FieldErrors errors, ref byte[]? image)
    {
        if (content.ValueKind == JsonValueKind.String)
            return content.GetString();
        if (content.ValueKind != JsonValueKind.Array)
        {
            errors.Add($"{at}.content", "must be a string or a list of parts");
            return null;
        }
        var texts = new List<string>();
        var index = 0;
        foreach (var part in content.EnumerateArray())
        {
            var path = $"{at}.content[{index++}]";
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                errors.Add(path, "must be an object with a type (text or image_url)");
                continue;
            }
            foreach (var p in part.EnumerateObject().Where(p => p.Name != "type" && p.Name != type.GetString()))
                errors.Add($"{path}.{p.Name}", "unknown field; it is not supported here");
            switch (type.GetString())
            {
                case "text" when part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String:
                    texts.Add(text.GetString()!);
                    break;
                case "text":
                    errors.Add($"{path}.text", "must be a string");
                    break;
                case "image_url":
                    var url = part.TryGetProperty("image_url", out var obj) && obj.ValueKind == JsonValueKind.Object ? obj : default;
                    if (url.ValueKind != JsonValueKind.Object || !url.TryGetProperty("url", out var u) || u.ValueKind != JsonValueKind.String)
                    {
                        errors.Add($"{path}.image_url.url", "must be a string (a data: URI)");
                        break;
                    }
                    foreach (var p in url.EnumerateObject().Where(p => p.Name is not ("url" or "detail")))
                        errors.Add($"{path}.image_url.{p.Name}", "unknown field; it is not supported here");
                    if (url.TryGetProperty("detail", out var detail) && detail.ValueKind != JsonValueKind.Null && detail.GetString() is not ("auto" or null))
                        errors.Add($"{path}.image_url.detail", "only auto is supported: the image is always tiled at the model's resolution");
                    if (image is not null)
                        errors.Add($"{path}.image_url", "only one image per request is supported");
                    else
                        image = ImageData.Decode(u.GetString()!, $"{path}.image_url.url", errors);
                    break;
                default:
                    errors.Add($"{path}.type", $"'{type.GetString()}' is not supported (text, image_url)");
                    break;
            }
        }
        return string.Join("\n", texts);
    }

    /// <summary>
    /// The pieces of one chat reply, built up from the search's events. <paramref name="split"/>: the stages before
    /// the CONCLUSION go to reasoning_content, the conclusion's text to content (else all of it to content).
    /// </summary>
    private sealed class Reply(string requestId, ServedModel model, long created, bool split, IReadOnlyList<string> ignored,
        Model.Inputs.ITokenizer tokenizer, ReasonOptions options)
    {
        private readonly Dictionary<(int Stage, int Candidate), StopReason> _stops = [];
        private readonly Dictionary<(int Stage, int Candidate), int> _tokens = [];
        private int _answerTokens;
        private readonly System.Text.StringBuilder _answer = new();
        private int _reasoningSent;
        private bool _contentSent;
        private int _promptTokens;
        private ulong _seed;

        public string Id { get; } = $"chatcmpl-{requestId}";

        public string FinishReason { get; private set; } = "stop";

        /// <summary>The answer as returned: cut where a stop string first appears (which then is why it finished).</summary>
        private string Answer(string text)
        {
            var at = options.StopAt(text);
            return at < 0 ? text : text[..at];
        }

        public void See(ReasonEvent e)
        {
            switch (e)
            {
                case RequestAccepted a:
                    _promptTokens = a.PromptTokens;
                    _seed = a.Seed;
                    break;
                case CandidateFinished c:
                    _stops[(c.Index, c.Candidate)] = c.StopReason;
                    _tokens[(c.Index, c.Candidate)] = c.Tokens;
                    break;
                case StageWinner w:
                    _answerTokens += _tokens.GetValueOrDefault((w.Index, w.Candidate));
                    _answer.Append(w.Text);
                    // A stop string ends the answer by choice, whatever cut the stage it appeared in.
                    FinishReason = _stops.GetValueOrDefault((w.Index, w.Candidate)) == StopReason.MaxTokens && options.StopAt(_answer.ToString()) < 0
                        ? "length" : "stop";
                    break;
            }
        }

        public ChatCompletion Completion(ReasonResult result)
        {
            var text = Answer(result.Text);
            var message = new ChatMessageOut("assistant", text, null);
            if (split)
            {
                var (reasoning, content, _) = Answers.Split(text);
                message = message with { Content = content, ReasoningContent = reasoning, Reasoning = reasoning };
            }
            return new ChatCompletion(Id, "chat.completion", created, model.Id, [new ChatChoice(0, message, FinishReason, null)],
                Usage(result), null, new ChatReasoning(requestId, _seed, model.RandomWeights, result, ignored));
        }

        /// <summary>
        /// The deltas a stage winner adds (after <see cref="See"/> took it in): its text as content (tagged), or the growth
        /// of the reasoning and, once the CONCLUSION is complete, the conclusion's text as content (split); nothing past a
        /// stop string.
        /// </summary>
        public IEnumerable<ChunkDelta> Deltas(string winner)
        {
            // The winner is already in the answer (See runs first).
            var before = Answer(_answer.ToString(0, _answer.Length - winner.Length));
            var answer = Answer(_answer.ToString());
            if (!split)
            {
                if (answer.Length > before.Length)
                    yield return new ChunkDelta(null, answer[before.Length..]);
                yield break;
            }
            var (reasoning, content, concluded) = Answers.Split(answer);
            if (reasoning.Length > _reasoningSent)
            {
                var more = reasoning[_reasoningSent..];
                _reasoningSent = reasoning.Length;
                yield return new ChunkDelta(null, null, more, more);
            }
            if (concluded && !_contentSent)
            {
                _contentSent = true;
                yield return new ChunkDelta(null, content);
            }
        }

        public ChatCompletionChunk Chunk(ChunkDelta delta, string? finishReason) =>
            new(Id, "chat.completion.chunk", created, model.Id, [new ChunkChoice(0, delta, finishReason, null)], null, null);

        public ChatCompletionChunk UsageChunk(ReasonResult result) =>
            new(Id, "chat.completion.chunk", created, model.Id, [], Usage(result), null);

        /// <summary>
        /// The answer's tokens (the stage winners'), of which reasoning is all but the CONCLUSION's (counted by
        /// tokenising the conclusion's text, which a stage winner holding the whole answer does not count apart).
        /// </summary>
        private ChatUsage Usage(ReasonResult result)
        {
            var open = result.Text.IndexOf("<CONCLUSION>", StringComparison.Ordinal);
            var conclusion = open < 0 ? 0 : tokenizer.EncodeUser(result.Text[open..]).Count;
            var reasoning = Math.Max(0, _answerTokens - conclusion);
            return new ChatUsage(_promptTokens, _answerTokens, _promptTokens + _answerTokens, new CompletionTokensDetails(reasoning),
                result.GeneratedTokens, result.JudgeTokens);
        }
    }
}
