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
        var choices = replies.Select((r, i) => new ChatChoice(i, r.Message(results[i]), r.FinishReason, r.LogProbs(results[i]))).ToList();
        var more = results.Count > 1 ? replies.Select((r, i) => new ChoiceReasoning(i, r.Seed, results[i])).ToList() : null;
        return new ChatCompletion(Id, "chat.completion", created, model.Id, choices, Usage(results), null,
            new ChatReasoning(requestId, replies[0].Seed, results[0], ignored, more));
    }

    public ChatCompletionChunk Chunk(int choice, ChunkDelta delta, string? finishReason, ChatLogprobs? logprobs = null) =>
        new(Id, "chat.completion.chunk", created, model.Id, [new ChunkChoice(choice, delta, finishReason, logprobs)], null, null);

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
            each.Sum(u => u.LlavacotSearchTokens), each.Sum(u => u.LlavacotJudgeTokens), each.Sum(u => u.LlavacotScoreTokens));
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

    // Where the request asked for log-probabilities: the tokens of the streamed answer (the stage winners'), and which
    // of them a chunk has carried; null once a winner came without them.
    private List<TokenLogProb>? _streamedTokens = options.TopLogProbs is null ? null : [];
    private readonly HashSet<int> _tokensSent = [];
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
                if (w.LogProbs is null)
                    _streamedTokens = null;
                else
                    _streamedTokens?.AddRange(w.LogProbs);
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
    /// The log-probabilities of the answer's tokens, each in the field its text went to (<see cref="AnswerTokens"/>);
    /// null unless asked, or where the search could not record them.
    /// </summary>
    public ChatLogprobs? LogProbs(ReasonResult result)
    {
        if (options.TopLogProbs is null || result.LogProbs is not { } tokens)
            return null;
        var fields = Fields(Answer(result.Text), tokens);
        return Logprobs(tokens, fields, _ => true);
    }

    private AnswerTokens.Field[] Fields(string answer, IReadOnlyList<TokenLogProb> tokens) =>
        AnswerTokens.Assign(answer, tokens, split, tokenizer.IsSpecial, tokenizer.CleanUpTokenizationSpaces);

    /// <summary>The tokens of each field among those <paramref name="take"/> accepts, in order.</summary>
    private ChatLogprobs Logprobs(IReadOnlyList<TokenLogProb> tokens, AnswerTokens.Field[] fields, Func<int, bool> take)
    {
        List<ChatTokenLogprob> Of(AnswerTokens.Field field) =>
            Enumerable.Range(0, tokens.Count).Where(i => fields[i] == field && take(i)).Select(i => AnswerTokens.ToChat(tokens[i])).ToList();
        return new ChatLogprobs(Of(AnswerTokens.Field.Content), split ? Of(AnswerTokens.Field.Reasoning) : null);
    }

    /// <summary>
    /// A streamed delta's log-probabilities: those of the tokens of <paramref name="field"/> that no chunk has carried
    /// yet, which are the tokens of the delta's text (the delta carries all of the field not sent before).
    /// </summary>
    private ChatLogprobs? DeltaLogprobs(string answer, AnswerTokens.Field field)
    {
        if (_streamedTokens is not { } tokens)
            return null;
        var fields = Fields(answer, tokens);
        var carried = Enumerable.Range(0, tokens.Count).Where(i => fields[i] == field && _tokensSent.Add(i)).ToHashSet();
        return Logprobs(tokens, fields, carried.Contains);
    }

    /// <summary>
    /// The deltas a stage winner adds (after <see cref="See"/> took it in): its text as content (tagged), or the growth
    /// of the reasoning and, once the CONCLUSION is complete, the conclusion's text as content (split); nothing past a
    /// stop string. Each comes with the log-probabilities of the tokens whose text it carries, where asked.
    /// </summary>
    public IEnumerable<(ChunkDelta Delta, ChatLogprobs? Logprobs)> Deltas(string winner)
    {
        // The winner is already in the answer (See runs first).
        var before = Answer(_answer.ToString(0, _answer.Length - winner.Length));
        var answer = Answer(_answer.ToString());
        if (!split)
        {
            if (answer.Length > before.Length)
                yield return (new ChunkDelta(null, answer[before.Length..]), DeltaLogprobs(answer, AnswerTokens.Field.Content));
            yield break;
        }
        var (reasoning, content, concluded) = Answers.Split(answer);
        if (reasoning.Length > _reasoningSent)
        {
            var more = reasoning[_reasoningSent..];
            _reasoningSent = reasoning.Length;
            yield return (new ChunkDelta(null, null, more, more), DeltaLogprobs(answer, AnswerTokens.Field.Reasoning));
        }
        if (concluded && !_contentSent)
        {
            _contentSent = true;
            yield return (new ChunkDelta(null, content), DeltaLogprobs(answer, AnswerTokens.Field.Content));
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
            result.GeneratedTokens, result.JudgeTokens, result.ScoreTokens);
    }
}
