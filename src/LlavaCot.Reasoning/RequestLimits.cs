using System.Globalization;
using LlavaCot.Reasoning.Scoring;

namespace LlavaCot.Reasoning;

/// <summary>A request field that is out of bounds, named as /v1/reason spells it.</summary>
public sealed record FieldError(string Field, string Message);

/// <summary>A request the search refuses. Its message names the fields and is meant for the client.</summary>
public sealed class InvalidReasonRequestException(IReadOnlyList<FieldError> errors)
    : Exception(string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")))
{
    public IReadOnlyList<FieldError> Errors { get; } = errors;
}

/// <summary>
/// The bounds of every request option, checked here once with one set of messages: /v1/reason, the OpenAI endpoint
/// (which renames some fields) and the command line all report these.
/// </summary>
public sealed record RequestLimits
{
    public const double MaxTemperature = 2;

    /// <summary>Upper bound of max_new_tokens (per generate call).</summary>
    public int MaxNewTokens { get; init; } = StopCondition.DefaultMaxNewTokens;

    public int MaxQuestionChars { get; init; } = 8192;

    public IReadOnlyList<FieldError> Check(ReasonRequest request)
    {
        var errors = new List<FieldError>();
        void Require(bool ok, string field, string message)
        {
            if (!ok)
                errors.Add(new FieldError(field, message));
        }
        var o = request.Options;
        var s = o.Sampling;
        Require(!string.IsNullOrWhiteSpace(request.Question), "question", "is required and must not be empty");
        Require(request.Question.Length <= MaxQuestionChars, "question",
            $"is {request.Question.Length} characters long; the limit is {MaxQuestionChars}");
        var conversation = request.Question.Length + request.History.Sum(t => t.Text.Length);
        Require(request.History.Count == 0 || conversation <= MaxQuestionChars, "history",
            $"the conversation is {conversation} characters long; the limit is {MaxQuestionChars}");
        Require(request.History.Count(t => t.Image) <= (request.Image is null ? 0 : 1), "history",
            request.Image is null ? "a turn is marked as showing the image, but the request has none" : "only one turn can show the image");
        Require(request.History.Skip(1).All(t => t.Role is "user" or "assistant") && request.History.Take(1).All(t => t.Role is "system" or "user" or "assistant"),
            "history", "holds a system turn (first only), then user and assistant turns");
        Require(request.Image is null || request.History.Take(1).All(t => t.Role != "system" || t.Text.Trim().Length == 0),
            "history", "a system message cannot be combined with an image (the chat template refuses it)");
        Require(request.History.All(t => t.Role == "user" || !t.Image), "history", "only a user turn can show the image");
        Require(o.BeamSize is >= 1 and <= ReasonOptions.MaxBeamSize, "beam_size", $"must lie in 1..{ReasonOptions.MaxBeamSize}, got {o.BeamSize}");
        Require(s.Temperature is >= 0 and <= MaxTemperature, "temperature", $"must lie in 0..{Format(MaxTemperature)}, got {Format(s.Temperature)}");
        Require(s.TopP is > 0 and <= 1, "top_p", $"must lie in (0, 1], got {Format(s.TopP)}");
        Require(s.TopK >= 0, "top_k", $"must be 0 (off) or more, got {s.TopK}");
        Require(o.MaxNewTokens >= 1 && o.MaxNewTokens <= MaxNewTokens, "max_new_tokens", $"must lie in 1..{MaxNewTokens}, got {o.MaxNewTokens}");
        Require(o.MaxAnswerTokens is null or >= 1, "max_answer_tokens", $"must be 1 or more, got {o.MaxAnswerTokens}");
        Require(o.TopLogProbs is null or (>= 0 and <= ReasonOptions.MaxTopLogProbs), "top_logprobs",
            $"must lie in 0..{ReasonOptions.MaxTopLogProbs}, got {o.TopLogProbs}");
        if (o.Scorer is { } scorer && !Scorers.For(o.Mode).Contains(scorer))
            errors.Add(new FieldError("scorer", $"'{Scorers.Name(scorer)}' does not apply to {ReasoningModes.Name(o.Mode)}, which takes " +
                                                string.Join(" or ", Scorers.For(o.Mode).Select(Scorers.Name))));
        Require(o.SwiresCutoff is null || o.Mode == ReasoningMode.Swires, "swires_cutoff", "applies to the swires mode only");
        Require(o.SwiresCutoff is null or (>= 0 and <= 1), "swires_cutoff",
            $"is a verifier score, P(correct), in 0..1; got {(o.SwiresCutoff is { } c ? Format(c) : "")}");
        return errors;
    }

    /// <summary>Throws <see cref="InvalidReasonRequestException"/> naming every field out of bounds.</summary>
    public void Validate(ReasonRequest request)
    {
        if (Check(request) is { Count: > 0 } errors)
            throw new InvalidReasonRequestException(errors);
    }

    private static string Format(double v) => v.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Server-wide settings of the search that no request can change.</summary>
public sealed record ReasonerSettings
{
    /// <summary>New-token limit of every judge and pre-check reply, whatever a request's max_new_tokens (the spec: 2048).</summary>
    public int JudgeMaxNewTokens { get; init; } = StopCondition.DefaultMaxNewTokens;

    public RequestLimits Limits { get; init; } = new();

    /// <summary>Unread events (token deltas aside, which merge) a run holds before its search waits for the reader.</summary>
    public int EventCapacity { get; init; } = Events.EventBuffer.DefaultCapacity;

    /// <summary>
    /// Candidates with the same generated ids are not compared: the lower index wins. Off, every comparison is made,
    /// which is the reference's call pattern.
    /// </summary>
    public bool SkipIdenticalCandidates { get; init; } = true;

    /// <summary>
    /// SWIRES backtracks while its second-best reasoning's P(correct) is at or below this. The reference's cutoff is
    /// its reward model's mean plus 0.2533 standard deviations (about its 60th percentile); P(correct) has another
    /// scale, and 0.5 is where the verifier leans to "correct". A model folder's llavacot.json may set its own.
    /// </summary>
    public double SwiresCutoff { get; init; } = DefaultSwiresCutoff;

    public const double DefaultSwiresCutoff = 0.5;

    /// <summary>The mode of a request that names none (a model folder may set its own).</summary>
    public ReasoningMode DefaultMode { get; init; } = new ReasonOptions().Mode;

    /// <summary>The scorer of a request that names neither mode nor scorer; null: the mode's own default.</summary>
    public Scoring.ScorerKind? DefaultScorer { get; init; }

    /// <summary>The options a request starts from: the defaults, with this model's mode and scorer.</summary>
    public ReasonOptions Defaults => new() { Mode = DefaultMode, Scorer = DefaultScorer };
}
