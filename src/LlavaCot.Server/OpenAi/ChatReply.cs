using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;
using LlavaCot.Server.Hosting;

namespace LlavaCot.Server.OpenAi;

/// <summary>A whole chat reply: its choices' replies, the completion object and the stream's chunks.</summary>
internal sealed class Chat(string requestId, ServedModel model, long created, IReadOnlyList<string> ignored, IReadOnlyList<ChatReply> replies)
{
    public IReadOnlyList<ChatReply> Replies => replies;

    private string Id => $"chatcmpl-{requestId}";

    public ChatCompletion Completion(IReadOnlyList<ReasonResult> results)
    {
        var choices = replies.Select((r, i) => new ChatChoice(i, r.Message(results[i]), r.FinishReason, null)).ToList();
        var more = results.Count > 1 ? replies.Select((r, i) => new ChoiceReasoning(i, r.Seed, results[i])).ToList() : null;
        return new ChatCompletion(Id, "chat.completion", created, model.Id, choices, Usage(results), null,
            new ChatReasoning(requestId, replies[0].Seed, results[0], ignored, more));
    }

    public ChatCompletionChunk Chunk(int choice, ChunkDelta delta, string? finishReason) =>
        new(Id, "chat.completion.chunk", created, model.Id, [new ChunkChoice(choice, delta, finishReason, null)], null, null);

    public ChatCompletionChunk UsageChunk(IReadOnlyList<ReasonResult> results) =>
        new(Id, "chat.completion.chunk", created, model.Id, [], Usage(results), null);

    /// <summary>The prompt once (every choice answers the same one), the choices' tokens summed.</summary>
    private ChatUsage Usage(IReadOnlyList<ReasonResult> results)
    {
        var each = replies.Select((r, i) => r.Usage(results[i])).ToList();
        var prompt = each[0].PromptTokens;
        var completion = each.Sum(u => u.CompletionTokens);
        return new ChatUsage(prompt, completion, prompt + completion,
            new CompletionTokensDetails(each.Sum(u => u.CompletionTokensDetails.ReasoningTokens)),
            each.Sum(u => u.LlavacotSearchTokens), each.Sum(u => u.LlavacotJudgeTokens));
    }
}

/// <summary>
/// One choice of a chat reply, built up from its search's events. <paramref name="split"/>: the stages before the
/// CONCLUSION go to reasoning_content, the conclusion's text to content (else all of it to content).
/// </summary>
internal sealed class ChatReply(bool split, Model.Inputs.ITokenizer tokenizer, ReasonOptions options)
{
    private readonly Dictionary<(int Stage, int Candidate), StopReason> _stops = [];
    private readonly Dictionary<(int Stage, int Candidate), int> _tokens = [];
    private readonly System.Text.StringBuilder _answer = new();
    private int _answerTokens;
    private int _reasoningSent;
    private bool _contentSent;
    private int _promptTokens;

    public ulong Seed { get; private set; }

    public string FinishReason { get; private set; } = "stop";

    /// <summary>The answer as returned: cut where a stop string first appears (which then is why it finished).</summary>
    private string Answer(string text)
    {
        var at = options.StopAt(text);
        return at < 0 ? text : text[..at];
    }

    public void See(ReasonEvent e)
    {
        switch (e)
        {
            case RequestAccepted a:
                _promptTokens = a.PromptTokens;
                Seed = a.Seed;
                break;
            case CandidateFinished c:
                _stops[(c.Index, c.Candidate)] = c.StopReason;
                _tokens[(c.Index, c.Candidate)] = c.Tokens;
                break;
            case StageWinner w:
                _answerTokens += _tokens.GetValueOrDefault((w.Index, w.Candidate));
                _answer.Append(w.Text);
                // A stop string ends the answer by choice, whatever cut the stage it appeared in.
                FinishReason = _stops.GetValueOrDefault((w.Index, w.Candidate)) == StopReason.MaxTokens && options.StopAt(_answer.ToString()) < 0
                    ? "length" : "stop";
                break;
        }
    }

    public ChatMessageOut Message(ReasonResult result)
    {
        var text = Answer(result.Text);
        if (!split)
            return new ChatMessageOut("assistant", text, null);
        var (reasoning, content, _) = Answers.Split(text);
        return new ChatMessageOut("assistant", content, null, reasoning, reasoning);
    }

    /// <summary>
    /// The deltas a stage winner adds (after <see cref="See"/> took it in): its text as content (tagged), or the growth
    /// of the reasoning and, once the CONCLUSION is complete, the conclusion's text as content (split); nothing past a
    /// stop string.
    /// </summary>
    public IEnumerable<ChunkDelta> Deltas(string winner)
    {
        // The winner is already in the answer (See runs first).
        var before = Answer(_answer.ToString(0, _answer.Length - winner.Length));
        var answer = Answer(_answer.ToString());
        if (!split)
        {
            if (answer.Length > before.Length)
                yield return new ChunkDelta(null, answer[before.Length..]);
            yield break;
        }
        var (reasoning, content, concluded) = Answers.Split(answer);
        if (reasoning.Length > _reasoningSent)
        {
            var more = reasoning[_reasoningSent..];
            _reasoningSent = reasoning.Length;
            yield return new ChunkDelta(null, null, more, more);
        }
        if (concluded && !_contentSent)
        {
            _contentSent = true;
            yield return new ChunkDelta(null, content);
        }
    }

    /// <summary>
    /// The answer's tokens (the stage winners'), of which reasoning is all but the CONCLUSION's (counted by
    /// tokenising the conclusion's text, which a stage winner holding the whole answer does not count apart).
    /// </summary>
    public ChatUsage Usage(ReasonResult result)
    {
        var open = result.Text.IndexOf("<CONCLUSION>", StringComparison.Ordinal);
        var conclusion = open < 0 ? 0 : tokenizer.EncodeUser(result.Text[open..]).Count;
        var reasoning = Math.Max(0, _answerTokens - conclusion);
        return new ChatUsage(_promptTokens, _answerTokens, _promptTokens + _answerTokens, new CompletionTokensDetails(reasoning),
            result.GeneratedTokens, result.JudgeTokens);
    }
}
