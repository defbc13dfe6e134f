using System.Globalization;
using LlavaCot.Reasoning;
using LlavaCot.Server.Hosting;

namespace LlavaCot.Server.Api;

/// <summary>What a client asked for, from any body format, before validation.</summary>
public sealed record ReasonParameters
{
    public byte[]? Image { get; init; }
    public string? Question { get; init; }
    public string? Mode { get; init; }
    public int? BeamSize { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public int? MaxNewTokens { get; init; }
    public ulong? Seed { get; init; }
    public bool IncludeTokens { get; init; }

    /// <summary>Names of the fields as this endpoint's clients spell them (the OpenAI endpoint differs for two).</summary>
    public sealed record Names(string Question = "question", string Mode = "mode", string MaxNewTokens = "max_new_tokens");

    public static readonly IReadOnlyDictionary<string, ReasoningMode> Modes = new Dictionary<string, ReasoningMode>(StringComparer.Ordinal)
    {
        ["stage_beam"] = ReasoningMode.StageBeam,
        ["best_of_n"] = ReasoningMode.BestOfN,
        ["sentence_beam"] = ReasoningMode.SentenceBeam,
        ["single"] = ReasoningMode.Single,
        ["two_stage"] = ReasoningMode.TwoStage,
    };

    /// <summary>Checks every field against the engine's and the server's limits; null with <paramref name="errors"/> filled when any is wrong.</summary>
    public ReasonRequest? ToRequest(string requestId, ServerOptions limits, FieldErrors errors, Names? names = null)
    {
        names ??= new Names();
        var defaults = new ReasonOptions();
        if (string.IsNullOrWhiteSpace(Question))
            errors.Add(names.Question, "is required and must not be empty");
        else if (Question.Length > limits.MaxQuestionChars)
            errors.Add(names.Question, $"is {Question.Length} characters long; the limit is {limits.MaxQuestionChars}");
        var mode = defaults.Mode;
        if (Mode is not null && !Modes.TryGetValue(Mode, out mode))
            errors.Add(names.Mode, $"'{Mode}' is not one of {string.Join(", ", Modes.Keys)}");
        if (BeamSize is < 1 or > ReasonOptions.MaxBeamSize)
            errors.Add("beam_size", $"must lie in 1..{ReasonOptions.MaxBeamSize}, got {BeamSize}");
        if (Temperature is { } t && !(t >= 0 && t <= 2))
            errors.Add("temperature", $"must lie in 0..2, got {Format(t)}");
        if (TopP is { } p && !(p > 0 && p <= 1))
            errors.Add("top_p", $"must lie in (0, 1], got {Format(p)}");
        if (TopK is < 0)
            errors.Add("top_k", $"must be 0 (off) or more, got {TopK}");
        if (MaxNewTokens is { } m && (m < 1 || m > limits.MaxNewTokens))
            errors.Add(names.MaxNewTokens, $"must lie in 1..{limits.MaxNewTokens}, got {m}");
        if (Image is { Length: 0 })
            errors.Add("image", "is empty");
        if (errors.Any)
            return null;
        var sampling = defaults.Sampling;
        ReadOnlyMemory<byte>? image = Image is null ? null : Image;
        return new ReasonRequest(requestId, image, Question!, defaults with
        {
            Mode = mode,
            BeamSize = BeamSize ?? defaults.BeamSize,
            Sampling = new SamplingOptions(Temperature ?? sampling.Temperature, TopK ?? sampling.TopK, TopP ?? sampling.TopP),
            MaxNewTokens = MaxNewTokens ?? Math.Min(limits.MaxNewTokens, defaults.MaxNewTokens),
            Seed = Seed,
        });
    }

    private static string Format(double v) => v.ToString(CultureInfo.InvariantCulture);
}
