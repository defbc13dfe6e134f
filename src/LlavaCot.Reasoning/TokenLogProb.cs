namespace LlavaCot.Reasoning;

/// <summary>
/// One generated token's raw log-probability (the log-softmax of the model's logits, before temperature, top-k and
/// top-p), recorded in the step that sampled it, with the most likely tokens of that step.
/// </summary>
/// <param name="Id">The token's id.</param>
/// <param name="Token">The token decoded on its own (a piece of a UTF-8 character shows as U+FFFD).</param>
/// <param name="Bytes">The token's own bytes.</param>
/// <param name="Top">The step's most likely tokens, best first (as many as asked for).</param>
public sealed record TokenLogProb(int Id, string Token, double LogProb, byte[] Bytes, IReadOnlyList<TopLogProb> Top);

/// <summary>One of a step's most likely tokens.</summary>
public sealed record TopLogProb(int Id, string Token, double LogProb, byte[] Bytes);
