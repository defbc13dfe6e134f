using System.Globalization;
using System.Text.Json;
using LlavaCot.Reasoning;
using LlavaCot.Server.Hosting;

namespace LlavaCot.Server.Api;

/// <summary>Reads a /v1/reason body (multipart form or JSON) into <see cref="ReasonParameters"/>, or the problem that stops it.</summary>
public static class ReasonInput
{
    /// <summary>The multipart fields, in the order Swagger shows them: name, schema type, description, example (Swagger UI's prefill).</summary>
    public static readonly IReadOnlyList<(string Name, string Type, string Description, string? Example)> FormFields =
    [
        ("image", "file", "The image (PNG, JPEG, WebP, GIF, BMP). Optional: without it the question is answered from text alone.", null),
        ("question", "string", "The question about the image (required, at most 8192 characters by default).", "What is in this picture?"),
        ("mode", "string", $"{string.Join(", ", ReasoningModes.ByName.Keys)} (default stage_beam).", "stage_beam"),
        ("scorer", "string", "What chooses among candidates (default: the mode's own): " + ScorerHelp.PerMode + ".", null),
        ("beam_size", "integer", "Candidates per stage, 1..16 (default 2).", "2"),
        ("swires_cutoff", "number", "swires only: backtrack to new captions while the second-best reasoning's P(correct) is at or below this, " +
                                    "0..1 (default: the model's, shown by GET /v1/models).", null),
        ("temperature", "number", "Sampling temperature, 0..2 (default 0.6; 0 is greedy).", "0.6"),
        ("top_p", "number", "Nucleus sampling mass, (0, 1] (default 0.9).", "0.9"),
        ("top_k", "integer", "Top-k sampling, 0 = off (default 50).", "50"),
        ("max_new_tokens", "integer", "Token budget of each generate call (default and upper bound: the server's MaxNewTokens).", "256"),
        ("max_answer_tokens", "integer", "Token budget of the answer, all stages together; the search ends when its winners have used it (default: none).", null),
        ("seed", "integer", "Seed of every random choice; the same seed and request give the same answer.", "42"),
        ("date", "string", "The date (YYYY-MM-DD) text-only prompts carry; default the server's, else today. Pin it to replay a request exactly.", null),
        ("include_tokens", "boolean", "With text/event-stream: also stream every candidate's token deltas (event 'token').", "false"),
    ];

    public static Task<(ReasonParameters? Parameters, IResult? Problem)> ReadAsync(HttpContext http, ServerOptions limits) =>
        RequestBody.ReadAsync(http, limits, () =>
        {
            if (IsMultipart(http.Request))
                return ReadFormAsync(http.Request, http.RequestAborted);
            if (http.Request.HasJsonContentType())
                return ReadJsonAsync(http.Request, http.RequestAborted);
            return Task.FromResult<(ReasonParameters?, IResult?)>((null, Problems.UnsupportedMediaType(http.Request.ContentType)));
        });

    private static bool IsImageType(string contentType) =>
        contentType.StartsWith("image/", StringComparison.OrdinalIgnoreCase)
        || contentType.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase);

    public static bool IsMultipart(HttpRequest request) =>
        request.HasFormContentType && request.ContentType!.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase);

    private static async Task<(ReasonParameters?, IResult?)> ReadFormAsync(HttpRequest request, CancellationToken ct)
    {
        var form = await request.ReadFormAsync(ct);
        var errors = new FieldErrors();
        var known = FormFields.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var key in form.Keys)
        {
            if (!known.Contains(key))
                errors.Add(key, $"unknown field (accepted: {string.Join(", ", known)})");
            else if (form[key].Count > 1)
                errors.Add(key, "is given more than once");
        }
        if (form.ContainsKey("image"))
            errors.Add("image", "must be sent as a file part (curl: -F image=@photo.jpg), not as text");
        foreach (var file in form.Files.Where(f => f.Name != "image"))
            errors.Add(file.Name, "unexpected file; only 'image' takes a file");
        var images = form.Files.GetFiles("image");
        if (images.Count > 1)
            errors.Add("image", "is given more than once; send one image");
        byte[]? image = null;
        // A part that says it is something other than an image (a PDF, a text file) is refused for what it is.
        if (images.Count == 1 && images[0].ContentType is { Length: > 0 } partType && !IsImageType(partType))
            return (null, Problems.UnsupportedImageType(partType));
        if (images.Count == 1)
        {
            using var buffer = new MemoryStream((int)Math.Min(images[0].Length, int.MaxValue));
            await images[0].CopyToAsync(buffer, ct);
            image = buffer.ToArray();
        }
        string? Text(string name) => form.TryGetValue(name, out var v) && v.Count == 1 ? v[0] : null;
        T? Parse<T>(string name, Func<string, T?> parse, string expected) where T : struct
        {
            if (Text(name) is not { } raw)
                return null;
            var value = parse(raw.Trim());
            if (value is null)
                errors.Add(name, $"'{raw}' is not {expected}");
            return value;
        }
        var parameters = new ReasonParameters
        {
            Image = image,
            Question = Text("question"),
            Search = new SearchSettings
            {
                Mode = Text("mode"),
                Scorer = Text("scorer"),
                SwiresCutoff = Parse<double>("swires_cutoff", ParseDouble, "a number"),
                BeamSize = Parse<int>("beam_size", ParseInt, "an integer"),
                Temperature = Parse<double>("temperature", ParseDouble, "a number"),
                TopP = Parse<double>("top_p", ParseDouble, "a number"),
                TopK = Parse<int>("top_k", ParseInt, "an integer"),
                MaxNewTokens = Parse<int>("max_new_tokens", ParseInt, "an integer"),
                MaxAnswerTokens = Parse<int>("max_answer_tokens", ParseInt, "an integer"),
                Seed = Parse<ulong>("seed", s => ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null, "a non-negative integer"),
                Date = Text("date"),
            },
            IncludeTokens = Parse<bool>("include_tokens", s => s.ToLowerInvariant() switch
            {
                "true" or "1" or "on" => true,
                "false" or "0" or "off" => false,
                _ => null,
            }, "true or false") ?? false,
        };
        return errors.Any ? (null, errors.ToResult()) : (parameters, null);
    }

    private static int? ParseInt(string s) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    private static double? ParseDouble(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : null;

    private static async Task<(ReasonParameters?, IResult?)> ReadJsonAsync(HttpRequest request, CancellationToken ct)
    {
        var (body, problem) = await RequestBody.JsonAsync<ReasonJsonRequest>(request, ct);
        if (body is null)
            return (null, problem);
        var errors = new FieldErrors();
        var image = body.Image is null ? null : ImageData.Decode(body.Image, "image", errors);
        var parameters = new ReasonParameters
        {
            Image = image,
            Question = body.Question,
            Search = body,
            IncludeTokens = body.IncludeTokens ?? false,
        };
        return errors.Any ? (null, errors.ToResult()) : (parameters, null);
    }
}

/// <summary>Reading request bodies with the size limit and malformed input answered as problems.</summary>
public static class RequestBody
{
    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpContext http, ServerOptions limits, Func<Task<(T?, IResult?)>> read)
    {
        if (http.Request.ContentLength > limits.MaxBodyBytes)
            return (default, Problems.TooLarge(limits.MaxBodyBytes));
        try
        {
            return await read();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (default, Problems.TooLarge(limits.MaxBodyBytes));
        }
        catch (InvalidDataException ex) when (ex.Message.Contains("length limit", StringComparison.OrdinalIgnoreCase))
        {
            return (default, Problems.TooLarge(limits.MaxBodyBytes));
        }
        catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException or IOException && !http.RequestAborted.IsCancellationRequested)
        {
            return (default, Problems.Status(StatusCodes.Status400BadRequest, "Malformed request body", ex.Message));
        }
    }

    /// <summary>A JSON object body; a syntax error, a wrong type or an unknown field is a 400 naming the field.</summary>
    public static async Task<(T? Value, IResult? Problem)> JsonAsync<T>(HttpRequest request, CancellationToken ct) where T : class
    {
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, ApiJson.Options, ct);
            return value is null ? (null, Problems.Field("body", "must be a JSON object")) : (value, null);
        }
        catch (JsonException ex)
        {
            var (field, message) = ApiJson.Describe(ex);
            return (null, Problems.Field(field, message));
        }
    }
}

/// <summary>Images sent inside JSON: plain base64 or a data: URI.</summary>
public static class ImageData
{
    public static byte[]? Decode(string value, string field, FieldErrors errors)
    {
        var data = value.Trim();
        if (data.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = data.IndexOf(',');
            if (comma < 0 || !data[..comma].EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add(field, "a data: URI must be base64 encoded (data:image/png;base64,...)");
                return null;
            }
            data = data[(comma + 1)..];
        }
        else if (data.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || data.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add(field, "image URLs are not fetched; send the image as base64 or a data: URI");
            return null;
        }
        try
        {
            var bytes = Convert.FromBase64String(data);
            if (bytes.Length == 0)
                errors.Add(field, "is empty");
            return bytes;
        }
        catch (FormatException)
        {
            errors.Add(field, "is not valid base64");
            return null;
        }
    }
}
