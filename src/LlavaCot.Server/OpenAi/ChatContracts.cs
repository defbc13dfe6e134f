using System.Text.Json;
using System.Text.Json.Serialization;
using LlavaCot.Reasoning;

namespace LlavaCot.Server.OpenAi;

/// <summary>
/// An OpenAI chat completion request. A conversation (an optional first system message, then user and assistant
/// messages, ending with the user's question) with at most one image_url (a data: URI, or an http(s) URL from an
/// allowed host) is answered; the LlavaCot extras pick the search. Values this server cannot honour are refused; fields it does not
/// know are ignored, as OpenAI does, and named in the reply (llavacot.ignored_fields and X-LlavaCot-Ignored-Fields).
/// </summary>
public sealed record ChatCompletionRequest
{
    /// <summary>Fields this server does not know (ignored, and named in the reply).</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; init; }

    /// <summary>The end user's id: accepted and logged.</summary>
    public string? User { get; init; }

    /// <summary>The model id from GET /v1/models.</summary>
    /// <example>llavacot-demo-shapes</example>
    public string? Model { get; init; }

    /// <summary>
    /// The conversation, ending with a user message (the question the search answers and the judge asks about); content
    /// is a string or a list of text and image_url parts; one image in all, in a user message; no system message beside an image.
    /// </summary>
    public List<ChatMessageIn>? Messages { get; init; }

    /// <summary>Stream chat.completion.chunk events (one content delta per stage winner), ending with [DONE].</summary>
    /// <example>false</example>
    public bool? Stream { get; init; }

    public ChatStreamOptions? StreamOptions { get; init; }

    /// <example>0.6</example>
    public double? Temperature { get; init; }

    /// <example>0.9</example>
    public double? TopP { get; init; }

    /// <summary>Token budget of the answer returned, all stages together (finish_reason length when it cut the answer).</summary>
    /// <example>256</example>
    public int? MaxTokens { get; init; }

    /// <summary>Same as max_tokens (the newer OpenAI name).</summary>
    public int? MaxCompletionTokens { get; init; }

    /// <summary>Up to 4 strings (or one) that end the answer where they first appear in its text; finish_reason stop.</summary>
    public JsonElement Stop { get; init; }

    /// <example>42</example>
    public long? Seed { get; init; }

    /// <summary>Independent searches, 1..4: choice i is seeded with seed + i; each takes a place in the queue.</summary>
    public int? N { get; init; }

    /// <summary>
    /// Return the log-probability of each token of the answer (choices[i].logprobs: content's tokens in content, the
    /// reasoning's in reasoning_content): the raw log-softmax of the model's logits, before temperature, top_k and top_p,
    /// recorded as the token was sampled.
    /// </summary>
    public bool? Logprobs { get; init; }

    /// <summary>With logprobs true: the most likely tokens to list at each position, 0..20.</summary>
    public int? TopLogprobs { get; init; }

    /// <summary>LlavaCot extra: stage_beam (default), best_of_n, sentence_beam, single, two_stage, swires, self_consistency or weighted_best_of_n.</summary>
    /// <example>stage_beam</example>
    public string? ReasoningMode { get; init; }

    /// <summary>LlavaCot extra: pairwise, verifier or none, where the mode takes it (as /v1/reason's scorer); default: the mode's own.</summary>
    public string? Scorer { get; init; }

    /// <summary>LlavaCot extra, swires only: backtrack while the second-best reasoning's P(correct) is at or below this, 0..1.</summary>
    public double? SwiresCutoff { get; init; }

    /// <summary>LlavaCot extra: candidates per stage, 1..16.</summary>
    /// <example>2</example>
    public int? BeamSize { get; init; }

    /// <summary>LlavaCot extra: top-k sampling, 0 = off.</summary>
    public int? TopK { get; init; }

    /// <summary>LlavaCot extra: the date (YYYY-MM-DD) text-only prompts carry, for exact replay; default today.</summary>
    public string? Date { get; init; }

    /// <summary>
    /// LlavaCot extra: split (SUMMARY, CAPTION and REASONING in reasoning_content, the CONCLUSION's text alone in
    /// content) or tagged (the whole tagged answer in content); default: the server's ReasoningFormat setting.
    /// </summary>
    /// <example>split</example>
    public string? ReasoningFormat { get; init; }
}

public sealed record ChatStreamOptions
{
    /// <summary>Send a last chunk with the token usage before [DONE].</summary>
    public bool? IncludeUsage { get; init; }
}

public sealed record ChatMessageIn
{
    /// <example>user</example>
    public string? Role { get; init; }

    /// <summary>A string, or parts: {"type":"text","text":...} and {"type":"image_url","image_url":{"url":"data:image/png;base64,..."}}.</summary>
    public JsonElement Content { get; init; }

    public string? Name { get; init; }
}

public sealed record ChatCompletion(
    string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoice> Choices, ChatUsage Usage,
    string? SystemFingerprint, ChatReasoning Llavacot);

public sealed record ChatChoice(int Index, ChatMessageOut Message, string FinishReason, ChatLogprobs? Logprobs);

/// <param name="Content">split: the CONCLUSION's text alone (empty without a complete CONCLUSION); tagged: the whole tagged answer.</param>
/// <param name="ReasoningContent">split: the stages before the CONCLUSION, tags kept (also as <paramref name="Reasoning"/>, vLLM's newer name).</param>
public sealed record ChatMessageOut(
    string Role, string Content, string? Refusal,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ReasoningContent = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reasoning = null);

/// <param name="CompletionTokens">The tokens of the answer returned: every stage's winner.</param>
/// <param name="CompletionTokensDetails">Of those, the reasoning: everything before the CONCLUSION.</param>
/// <param name="LlavacotSearchTokens">LlavaCot extension: every token the search generated (all candidates of every stage).</param>
/// <param name="LlavacotJudgeTokens">LlavaCot extension: the tokens of the judge's and the pre-checks' replies.</param>
/// <param name="LlavacotScoreTokens">LlavaCot extension: the tokens of the verifier's prompts and verdicts (prefilled or found cached, never decoded).</param>
public sealed record ChatUsage(int PromptTokens, int CompletionTokens, int TotalTokens, CompletionTokensDetails CompletionTokensDetails,
    int LlavacotSearchTokens, int LlavacotJudgeTokens, int LlavacotScoreTokens);

public sealed record CompletionTokensDetails(int ReasoningTokens);

/// <summary>LlavaCot's extra field: how the answer was reached (choice 0's; every choice's when n > 1), and the request's fields it ignored.</summary>
public sealed record ChatReasoning(string RequestId, ulong Seed, ReasonResult Result, IReadOnlyList<string> IgnoredFields,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ChoiceReasoning>? Choices = null);

/// <summary>One choice's search: its seed (the request's seed + its index) and result.</summary>
public sealed record ChoiceReasoning(int Index, ulong Seed, ReasonResult Result);

public sealed record ChatCompletionChunk(
    string Id, string Object, long Created, string Model, IReadOnlyList<ChunkChoice> Choices, ChatUsage? Usage, string? SystemFingerprint);

public sealed record ChunkChoice(int Index, ChunkDelta Delta, string? FinishReason, ChatLogprobs? Logprobs);

public sealed record ChunkDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ReasoningContent = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reasoning = null);

public sealed record ModelList(string Object, IReadOnlyList<ModelCard> Data);

/// <param name="Dtype">The compute dtype (float32 or bfloat16); <paramref name="DtypeReason"/> says why.</param>
/// <param name="SwiresCutoff">The swires mode's cutoff when a request names none: the model folder's, else the server's default.</param>
/// <param name="Weights">How the linear weights are kept: dense, int8 (per output channel) or int4 (groups of 32, output head int8).</param>
public sealed record ModelCard(string Id, string Object, long Created, string OwnedBy, string Description,
    string Device, string Dtype, string DtypeReason, double SwiresCutoff, string Weights);
