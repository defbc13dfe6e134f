using System.Globalization;
using LlavaCot.Reasoning;
using LlavaCot.Server.Hosting;

namespace LlavaCot.Server.Api;

/// <summary>What a client asked for, from any body format, before validation.</summary>
public sealed record ReasonParameters
{
    public byte[]? Image { get; init; }
    public string? Question { get; init; }
    public SearchSettings Search { get; init; } = new();
    public bool IncludeTokens { get; init; }

    /// <summary>Names of the fields as this endpoint's clients spell them (the OpenAI endpoint differs for two).</summary>
    public sealed record Names(string Question = "question", string Mode = "mode", string MaxNewTokens = "max_new_tokens");

    public static IReadOnlyDictionary<string, ReasoningMode> Modes => ReasoningModes.ByName;

    /// <summary>Checks every field against the engine's and the server's limits; null with <paramref name="errors"/> filled when any is wrong.</summary>
    public ReasonRequest? ToRequest(string requestId, ServerOptions limits, FieldErrors errors, Names? names = null)
    {
        names ??= new Names();
        var defaults = new ReasonOptions();
        var (mode, beamSize, temperature, topP, topK, maxNewTokens) =
            (Search.Mode, Search.BeamSize, Search.Temperature, Search.TopP, Search.TopK, Search.MaxNewTokens);
        if (string.IsNullOrWhiteSpace(Question))
            errors.Add(names.Question, "is required and must not be empty");
        else if (Question.Length > limits.MaxQuestionChars)
            errors.Add(names.Question, $"is {Question.Length} characters long; the limit is {limits.MaxQuestionChars}");
        var searchMode = defaults.Mode;
        if (mode is not null && !Modes.TryGetValue(mode, out searchMode))
            errors.Add(names.Mode, $"'{mode}' is not one of {string.Join(", ", Modes.Keys)}");
        if (beamSize is < 1 or > ReasonOptions.MaxBeamSize)
            errors.Add("beam_size", $"must lie in 1..{ReasonOptions.MaxBeamSize}, got {beamSize}");
        if (temperature is { } t && !(t >= 0 && t <= 2))
            errors.Add("temperature", $"must lie in 0..2, got {Format(t)}");
        if (topP is { } p && !(p > 0 && p <= 1))
            errors.Add("top_p", $"must lie in (0, 1], got {Format(p)}");
        if (topK is < 0)
            errors.Add("top_k", $"must be 0 (off) or more, got {topK}");
        if (maxNewTokens is { } m && (m < 1 || m > limits.MaxNewTokens))
            errors.Add(names.MaxNewTokens, $"must lie in 1..{limits.MaxNewTokens}, got {m}");
        if (Image is { Length: 0 })
            errors.Add("image", "is empty");
        if (errors.Any)
            return null;
        var sampling = defaults.Sampling;
        ReadOnlyMemory<byte>? image = Image is null ? null : Image;
        return new ReasonRequest(requestId, image, Question!, defaults with
        {
            Mode = searchMode,
            BeamSize = beamSize ?? defaults.BeamSize,
            Sampling = new SamplingOptions(temperature ?? sampling.Temperature, topK ?? sampling.TopK, topP ?? sampling.TopP),
            MaxNewTokens = maxNewTokens ?? Math.Min(limits.MaxNewTokens, defaults.MaxNewTokens),
            Seed = Search.Seed,
        });
    }

    private static string Format(double v) => v.ToString(CultureInfo.InvariantCulture);
}
