using System.Text.Json.Serialization;

namespace LlavaCot.Reasoning;

/// <summary>The outcome of a search: the full tagged answer, the CONCLUSION alone, and how it was reached.</summary>
/// <param name="Text">Everything generated after the prompt (all stages, tags included).</param>
/// <param name="Conclusion">The text between &lt;CONCLUSION&gt; and &lt;/CONCLUSION&gt;, trimmed (the whole answer if absent).</param>
/// <param name="JudgeCalls">Every judge and pre-check call made, also those a batch made whose reply was not needed.</param>
/// <param name="Replay">What else the answer depends on: the date in text-only prompts, compute dtype, device, CPU features.</param>
/// <param name="Cost">The model work the request caused (vision passes, prefilled and decoded tokens).</param>
/// <param name="Scorer">What chose among the candidates: none, pairwise or verifier.</param>
/// <param name="ScoreCalls">Verifier prompts scored (a candidate with the same ids as an earlier one is not scored again).</param>
/// <param name="ScoreTokens">Tokens those prompts ran through the model or found cached, verdict words included.</param>
/// <param name="LogProbs">Where the request asked (<see cref="ReasonOptions.TopLogProbs"/>), the log-probabilities of every
/// token of <paramref name="Text"/>, in order; null otherwise, or where a token's were not recorded. Not serialised: the
/// OpenAI endpoint returns them in its own shape.</param>
public sealed record ReasonResult(
    string Text,
    string Conclusion,
    string Mode,
    int BeamSize,
    IReadOnlyList<StageResult> Stages,
    int GeneratedTokens,
    int JudgeCalls,
    int JudgeTokens,
    double ElapsedSeconds,
    SessionInfo? Replay = null,
    ModelCost? Cost = null,
    string Scorer = "none",
    int ScoreCalls = 0,
    int ScoreTokens = 0,
    [property: JsonIgnore] IReadOnlyList<TokenLogProb>? LogProbs = null);

/// <param name="Winner">The candidate carried forward (in a SWIRES reasoning stage, the round's best).</param>
/// <param name="Candidates">Token count of each candidate of the stage.</param>
/// <param name="Verdicts">The comparisons, in the order they were made.</param>
/// <param name="Scores">Each candidate's verifier score, where the verifier scored the stage.</param>
public sealed record StageResult(
    string Stage, int Winner, string WinnerText, IReadOnlyList<int> Candidates, IReadOnlyList<StageVerdict> Verdicts, double ElapsedSeconds,
    IReadOnlyList<double>? Scores = null);

public sealed record StageVerdict(int First, int Second, int Winner, string Decision);
