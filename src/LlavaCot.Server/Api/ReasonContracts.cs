using LlavaCot.Reasoning;

namespace LlavaCot.Server.Api;

/// <summary>How the search runs; every field is optional and validated by <see cref="ReasonParameters.ToRequest"/>.</summary>
public record SearchSettings
{
    /// <summary>stage_beam (default), best_of_n, sentence_beam, single, two_stage, swires, self_consistency or weighted_best_of_n.</summary>
    /// <example>stage_beam</example>
    public string? Mode { get; init; }

    /// <summary>
    /// What chooses among candidates: pairwise (the reference judge), verifier (each candidate's P(correct), no
    /// decoding) or none. Default: the mode's own. stage_beam and best_of_n take pairwise (default) or verifier;
    /// sentence_beam pairwise; swires and weighted_best_of_n verifier; self_consistency verifier (default) or pairwise,
    /// to break a tie; single and two_stage none.
    /// </summary>
    public string? Scorer { get; init; }

    /// <summary>swires only: the search backtracks to new captions while its second-best reasoning's P(correct) is at or
    /// below this, 0..1. Default: the model's (GET /v1/models shows it).</summary>
    public double? SwiresCutoff { get; init; }

    /// <summary>Candidates per stage, 1..16 (default 2).</summary>
    /// <example>2</example>
    public int? BeamSize { get; init; }

    /// <summary>Sampling temperature, 0..2 (default 0.6; 0 is greedy).</summary>
    /// <example>0.6</example>
    public double? Temperature { get; init; }

    /// <summary>Nucleus sampling mass, (0, 1] (default 0.9).</summary>
    /// <example>0.9</example>
    public double? TopP { get; init; }

    /// <summary>Top-k sampling, 0 = off (default 50).</summary>
    /// <example>50</example>
    public int? TopK { get; init; }

    /// <summary>Token budget of each generate call.</summary>
    /// <example>256</example>
    public int? MaxNewTokens { get; init; }

    /// <summary>Token budget of the answer, all stages together; the search ends when its winners have used it. Default: none.</summary>
    public int? MaxAnswerTokens { get; init; }

    /// <summary>Seed of every random choice; the same seed and request give the same answer.</summary>
    /// <example>42</example>
    public ulong? Seed { get; init; }

    /// <summary>The date (YYYY-MM-DD) text-only prompts carry (the judge's correctness check); default: the server's Date setting, else today.
    /// With the seed it makes a request replayable: the result's replay field records it with the dtype and CPU features.</summary>
    /// <example>2026-11-26</example>
    public string? Date { get; init; }
}

/// <summary>A question about an image, as JSON (the multipart form takes the same fields).</summary>
public sealed record ReasonJsonRequest : SearchSettings
{
    /// <summary>The image as base64 or a data: URI (data:image/png;base64,...). Optional.</summary>
    /// <example>data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC</example>
    public string? Image { get; init; }

    /// <summary>The question (required, at most 8192 characters by default).</summary>
    /// <example>How many apples are on the table?</example>
    public string? Question { get; init; }

    /// <summary>With Accept: text/event-stream, also stream every candidate's token deltas.</summary>
    /// <example>false</example>
    public bool? IncludeTokens { get; init; }
}

/// <summary>The answer of a finished search.</summary>
/// <param name="RequestId">The request id (also in the X-Request-Id header).</param>
/// <param name="Model">The model that answered.</param>
/// <param name="Seed">The seed the search ran with (picked by the server when none was sent).</param>
/// <param name="PromptTokens">Tokens of the rendered prompt.</param>
/// <param name="Result">The engine's result: the full tagged answer, the CONCLUSION alone, per-stage winners, verdicts, token counts, timings.</param>
public sealed record ReasonResponse(string RequestId, string Model, ulong Seed, int PromptTokens, ReasonResult Result);
