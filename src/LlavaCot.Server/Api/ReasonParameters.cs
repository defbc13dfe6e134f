using System.Globalization;
using LlavaCot.Reasoning;
using LlavaCot.Server.Hosting;

namespace LlavaCot.Server.Api;

/// <summary>What a client asked for, from any body format, before validation.</summary>
public sealed record ReasonParameters
{
    public byte[]? Image { get; init; }
    public string? Question { get; init; }

    /// <summary>The conversation before the question (chat requests).</summary>
    public IReadOnlyList<PriorTurn> History { get; init; } = [];
    public SearchSettings Search { get; init; } = new();
    public bool IncludeTokens { get; init; }

    /// <summary>Strings that end the answer (the OpenAI endpoint's stop).</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Names of the fields as this endpoint's clients spell them (the OpenAI endpoint differs for three).</summary>
    public sealed record Names(string Question = "question", string Mode = "mode", string MaxNewTokens = "max_new_tokens",
        string MaxAnswerTokens = "max_answer_tokens", string History = "history")
    {
        /// <summary>This endpoint's name for a field as the engine's limits name it.</summary>
        public string Of(string field) => field switch
        {
            "question" => Question,
            "max_new_tokens" => MaxNewTokens,
            "max_answer_tokens" => MaxAnswerTokens,
            "history" => History,
            _ => field,
        };
    }

    public static IReadOnlyDictionary<string, ReasoningMode> Modes => ReasoningModes.ByName;

    /// <summary>
    /// Parses the fields and checks them against the engine's limits (<see cref="RequestLimits"/>, the same check and
    /// messages the engine and the command line use); null with <paramref name="errors"/> filled when any is wrong.
    /// </summary>
    public ReasonRequest? ToRequest(string requestId, ServerOptions limits, FieldErrors errors, Names? names = null)
    {
        names ??= new Names();
        var defaults = new ReasonOptions();
        var searchMode = defaults.Mode;
        if (Search.Mode is { } mode && !Modes.TryGetValue(mode, out searchMode))
            errors.Add(names.Mode, ReasoningModes.Unknown(mode));
        DateOnly? date = null;
        if (Search.Date is { } text)
        {
            if (DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
                date = parsed;
            else
                errors.Add("date", $"'{text}' is not a date as YYYY-MM-DD");
        }
        if (Image is { Length: 0 })
            errors.Add("image", "is empty");
        var sampling = defaults.Sampling;
        var settings = limits.Reasoning;
        // Not "Image is null ? null : Image": ReadOnlyMemory's conversion from arrays turns that null into an empty
        // image (which fails to decode), not into no image.
        ReadOnlyMemory<byte>? image = null;
        if (Image is { } bytes)
            image = bytes;
        var request = new ReasonRequest(requestId, image, Question ?? "", defaults with
        {
            Mode = searchMode,
            BeamSize = Search.BeamSize ?? defaults.BeamSize,
            Sampling = new SamplingOptions(Search.Temperature ?? sampling.Temperature, Search.TopK ?? sampling.TopK, Search.TopP ?? sampling.TopP),
            MaxNewTokens = Search.MaxNewTokens ?? Math.Min(settings.Limits.MaxNewTokens, defaults.MaxNewTokens),
            MaxAnswerTokens = Search.MaxAnswerTokens,
            StopStrings = StopStrings,
            Seed = Search.Seed,
            Date = date,
        }) { History = History };
        foreach (var e in settings.Limits.Check(request))
            errors.Add(names.Of(e.Field), e.Message);
        return errors.Any ? null : request;
    }
}
