using System.Text.Json.Serialization;

namespace LlavaCot.Reasoning.Events;

/// <summary>One step of a search, in the order it happened; <see cref="Kind"/> names it on the wire (SSE event name).</summary>
[JsonDerivedType(typeof(RequestAccepted))]
[JsonDerivedType(typeof(StageStarted))]
[JsonDerivedType(typeof(TokenDelta))]
[JsonDerivedType(typeof(CandidateFinished))]
[JsonDerivedType(typeof(JudgeComparison))]
[JsonDerivedType(typeof(CandidateScored))]
[JsonDerivedType(typeof(VoteCounted))]
[JsonDerivedType(typeof(SwiresRound))]
[JsonDerivedType(typeof(StageKept))]
[JsonDerivedType(typeof(StageWinner))]
[JsonDerivedType(typeof(FinalAnswer))]
[JsonDerivedType(typeof(ReasonError))]
public abstract record ReasonEvent
{
    [JsonIgnore]
    public abstract string Kind { get; }
}

public sealed record RequestAccepted(string RequestId, string Mode, int BeamSize, ulong Seed, int PromptTokens) : ReasonEvent
{
    public override string Kind => "accepted";
}

/// <param name="Stage">summary, caption, reasoning, conclusion; answer (best-of-N, single); sentence; rationale (two-stage).</param>
/// <param name="Index">0-based position of this stage in the search.</param>
public sealed record StageStarted(string Stage, int Index, int Candidates) : ReasonEvent
{
    public override string Kind => "stage_started";
}

public sealed record TokenDelta(string Stage, int Index, int Candidate, string Text) : ReasonEvent
{
    public override string Kind => "token";
}

/// <param name="Text">What this candidate wrote in this stage.</param>
public sealed record CandidateFinished(string Stage, int Index, int Candidate, string Text, int Tokens, StopReason StopReason) : ReasonEvent
{
    public override string Kind => "candidate_done";
}

/// <summary>One knockout comparison: candidates <paramref name="First"/> and <paramref name="Second"/> (stage indices).</summary>
/// <param name="Decision">judge, missing_tags, incorrect_reasoning (the pre-check decided), identical (both candidates
/// generated the same ids: the lower index wins, no call is made, and the comparison's seeds are still drawn).</param>
/// <param name="ElapsedSeconds">Wall time of this comparison's calls (a batch's comparisons run together).</param>
public sealed record JudgeComparison(
    string Stage, int Index, int First, int Second, int Winner, string Decision, IReadOnlyList<Judging.JudgeCall> Calls,
    double ElapsedSeconds = 0) : ReasonEvent
{
    public override string Kind => "judge";
}

/// <summary>A candidate's verifier score (P(correct), 0..1), with the log-probabilities it came from.</summary>
/// <param name="Decision">verifier (scored), missing_tags (not scored: the text lacks its tags), identical (the score of
/// candidate <paramref name="IdenticalTo"/>, which generated the same ids).</param>
/// <param name="Tokens">Prompt and verdict tokens the scoring ran through the model or found cached.</param>
public sealed record CandidateScored(
    string Stage, int Index, int Candidate, double Score, double? LogProbCorrect, double? LogProbIncorrect, string Decision,
    int Tokens, int? IdenticalTo = null, double ElapsedSeconds = 0) : ReasonEvent
{
    public override string Kind => "score";
}

/// <summary>A vote over a stage's whole answers: each distinct CONCLUSION with its candidates and weight.</summary>
/// <param name="Decision">majority (one answer has the most votes), tie (the scorer chose among the tied answers; its
/// events precede this one) or weighted (the most summed P(correct)).</param>
public sealed record VoteCounted(string Stage, int Index, IReadOnlyList<Scoring.VoteTally> Answers, int Winner, string Decision) : ReasonEvent
{
    public override string Kind => "vote";
}

/// <summary>
/// The end of a SWIRES round: every reasoning so far, best first, and whether the search backtracks (samples new
/// captions) because the second best scores at or below the cutoff.
/// </summary>
public sealed record SwiresRound(int Round, int Index, IReadOnlyList<RankedCandidate> Ranking, double SecondBest, double Cutoff, bool Backtrack)
    : ReasonEvent
{
    public override string Kind => "swires_round";
}

/// <param name="Index">The stage (its position in the search) the candidate belongs to.</param>
public sealed record RankedCandidate(int Index, int Candidate, double Score);

/// <summary>
/// The candidates a stage carries forward, best first, where it keeps several and its winner is known only later
/// (SWIRES's captions: the answer's caption is the one its winning conclusion continues).
/// </summary>
public sealed record StageKept(string Stage, int Index, IReadOnlyList<int> Candidates) : ReasonEvent
{
    public override string Kind => "kept";
}

/// <summary>
/// The candidate of a stage that is part of the answer: the answer is the winners' texts in the order their events come
/// (in SWIRES the caption's and the reasoning's arrive with the conclusion's, once the answer's chain is known).
/// </summary>
public sealed record StageWinner(string Stage, int Index, int Candidate, string Text) : ReasonEvent
{
    public override string Kind => "stage_winner";

    /// <summary>The log-probabilities of the tokens of <see cref="Text"/>, where the request asked (the OpenAI stream's; not serialised).</summary>
    [JsonIgnore]
    public IReadOnlyList<TokenLogProb>? LogProbs { get; init; }
}

public sealed record FinalAnswer(ReasonResult Result) : ReasonEvent
{
    public override string Kind => "final";
}

/// <summary>The search ended without an answer. <paramref name="Message"/> is for the client: the reason when the
/// request was at fault, else a generic sentence; the exception itself (<see cref="Cause"/>) stays in the server log.</summary>
public sealed record ReasonError(string Message) : ReasonEvent
{
    public const string UnexpectedMessage = "the search failed unexpectedly; the server log has the details under this request id";

    public override string Kind => "error";

    [JsonIgnore]
    public Exception? Cause { get; init; }

    /// <summary>An exception that is not the request's fault: the client gets the generic message only.</summary>
    public static ReasonError Unexpected(Exception cause) => new(UnexpectedMessage) { Cause = cause };
}
