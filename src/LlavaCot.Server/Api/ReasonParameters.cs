using System.Globalization;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Scoring;
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

    /// <summary>Record the answer's token log-probabilities with this many alternatives (the OpenAI endpoint's logprobs); null: none.</summary>
    public int? TopLogProbs { get; init; }

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
    /// <param name="model">The served model's defaults (<see cref="ReasonerSettings.Defaults"/>): the mode of a request that
    /// names none, and the scorer of one that names neither mode nor scorer.</param>
    public ReasonRequest? ToRequest(string requestId, ServerOptions limits, FieldErrors errors, Names? names = null, ReasonOptions? model = null)
    {
        names ??= new Names();
        var defaults = model ?? new ReasonOptions();
        var searchMode = defaults.Mode;
        var knownMode = true;
        if (Search.Mode is { } mode && !(knownMode = Modes.TryGetValue(mode, out searchMode)))
            errors.Add(names.Mode, ReasoningModes.Unknown(mode));
        // The model's scorer goes with its mode: a request naming another mode gets that mode's own default.
        var scorer = Search.Mode is null ? defaults.Scorer : null;
        if (Search.Scorer is { } scorerName)
        {
            if (Scorers.ByName.TryGetValue(scorerName, out var kind))
                scorer = kind;
            else
                errors.Add("scorer", Scorers.Unknown(scorerName));
        }
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
            Scorer = scorer,
            SwiresCutoff = Search.SwiresCutoff,
            BeamSize = Search.BeamSize ?? defaults.BeamSize,
            Sampling = new SamplingOptions(Search.Temperature ?? sampling.Temperature, Search.TopK ?? sampling.TopK, Search.TopP ?? sampling.TopP),
            MaxNewTokens = Search.MaxNewTokens ?? Math.Min(settings.Limits.MaxNewTokens, defaults.MaxNewTokens),
            MaxAnswerTokens = Search.MaxAnswerTokens,
            StopStrings = StopStrings,
            TopLogProbs = TopLogProbs,
            Seed = Search.Seed,
            Date = date,
        }) { History = History };
        // Whether a scorer or a cutoff applies depends on the mode: an unknown mode's error says enough.
        foreach (var e in settings.Limits.Check(request).Where(e => knownMode || e.Field is not ("scorer" or "swires_cutoff")))
            errors.Add(names.Of(e.Field), e.Message);
        return errors.Any ? null : request;
    }
}

/// <summary>Which scorers each mode takes, in words, for the API's documentation.</summary>
public static class ScorerHelp
{
    public static string PerMode { get; } = string.Join("; ", ReasoningModes.ByName.Select(m => $"{m.Key}: {Takes(Scorers.For(m.Value))}"));

    private static string Takes(IReadOnlyList<ScorerKind> scorers) =>
        string.Join(" or ", scorers.Select((s, i) => i == 0 && scorers.Count > 1 ? $"{Scorers.Name(s)} (default)" : Scorers.Name(s)));
}
