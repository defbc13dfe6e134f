using System.Text.Json.Nodes;
using LlavaCot.Reasoning.Events;
using LlavaCot.Server.Api;
using LlavaCot.Server.OpenAi;

namespace LlavaCot.Server.Docs;

/// <summary>
/// Endpoint metadata describing a body the handler reads itself (so it can refuse unknown fields and name bad
/// ones), with examples; <see cref="RequestBodyFilter"/> turns it into the operation's OpenAPI request body.
/// </summary>
public sealed record RequestBodyDoc(IReadOnlyList<RequestBodyDoc.Body> Bodies, IReadOnlyList<RequestBodyDoc.Body> Responses)
{
    /// <param name="SchemaTypes">The body's type, or its alternatives (one of); none for the multipart form described by <see cref="ReasonInput.FormFields"/>.</param>
    public sealed record Body(string ContentType, Type[] SchemaTypes, JsonNode Example);

    /// <summary>The data of each SSE event of /v1/reason; the event name is its <c>kind</c>.</summary>
    private static readonly Type[] ReasonEvents =
    [
        typeof(RequestAccepted), typeof(StageStarted), typeof(TokenDelta), typeof(CandidateFinished), typeof(JudgeComparison),
        typeof(CandidateScored), typeof(VoteCounted), typeof(SwiresRound), typeof(StageKept), typeof(StageWinner), typeof(FinalAnswer), typeof(ReasonError),
    ];

    private const string TinyPng = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

    public static RequestBodyDoc Reason { get; } = new(
    [
        new Body("multipart/form-data", [], new JsonObject
        {
            ["question"] = "How many apples are on the table?", ["mode"] = "stage_beam", ["beam_size"] = 2, ["seed"] = 42,
        }),
        new Body("application/json", [typeof(ReasonJsonRequest)], new JsonObject
        {
            ["image"] = TinyPng, ["question"] = "How many apples are on the table?", ["mode"] = "stage_beam", ["beam_size"] = 2,
            ["max_new_tokens"] = 256, ["seed"] = 42,
        }),
    ],
    [
        new Body("application/json", [typeof(ReasonResponse)], JsonNode.Parse("""
            {"request_id":"req-5f0c2a9e1b7d4c3a","model":"Llama-3.2V-11B-cot","seed":42,"prompt_tokens":21,
             "result":{"text":"<SUMMARY>I will count the apples.</SUMMARY>\n\n<CAPTION>A table with three apples.</CAPTION>\n\n<REASONING>There are three red apples.</REASONING>\n\n<CONCLUSION>3</CONCLUSION>\n\n",
               "conclusion":"3","mode":"stage_beam","beam_size":2,
               "stages":[{"stage":"summary","winner":1,"winner_text":"<SUMMARY>I will count the apples.</SUMMARY>\n\n","candidates":[14,12],
                          "verdicts":[{"first":0,"second":1,"winner":1,"decision":"judge"}],"elapsed_seconds":2.1}],
               "generated_tokens":96,"judge_calls":5,"judge_tokens":40,"elapsed_seconds":9.7}}
            """)!),
        new Body("text/event-stream", ReasonEvents, JsonValue.Create("""
            event: accepted
            data: {"request_id":"req-5f0c2a9e1b7d4c3a","mode":"stage_beam","beam_size":2,"seed":42,"prompt_tokens":21}
            id: 0

            event: stage_started
            data: {"stage":"summary","index":0,"candidates":2,"request_id":"req-5f0c2a9e1b7d4c3a"}
            id: 1

            event: final
            data: {"result":{"text":"...","conclusion":"3", "...": "..."},"request_id":"req-5f0c2a9e1b7d4c3a"}
            id: 12
            """)),
    ]);

    public static RequestBodyDoc Chat { get; } = new(
    [
        new Body("application/json", [typeof(ChatCompletionRequest)], JsonNode.Parse($$$"""
            {"model":"llavacot-demo-shapes-2","messages":[{"role":"user","content":[
               {"type":"text","text":"How many apples are on the table?"},
               {"type":"image_url","image_url":{"url":"{{{TinyPng}}}"}}]}],
             "stream":false,"max_tokens":256,"seed":42,"reasoning_mode":"stage_beam","beam_size":2}
            """)!),
    ],
    [
        new Body("application/json", [typeof(ChatCompletion)], JsonNode.Parse("""
            {"id":"chatcmpl-req-5f0c2a9e1b7d4c3a","object":"chat.completion","created":1732300000,"model":"Llama-3.2V-11B-cot",
             "choices":[{"index":0,"message":{"role":"assistant","content":"<SUMMARY>...</SUMMARY>\n\n<CAPTION>...</CAPTION>\n\n<REASONING>...</REASONING>\n\n<CONCLUSION>3</CONCLUSION>\n\n","refusal":null},"finish_reason":"stop","logprobs":null}],
             "usage":{"prompt_tokens":21,"completion_tokens":136,"total_tokens":157},"system_fingerprint":null,
             "llavacot":{"request_id":"req-5f0c2a9e1b7d4c3a","seed":42,"result":{"text":"...","conclusion":"3"}}}
            """)!),
        new Body("text/event-stream", [typeof(ChatCompletionChunk)], JsonValue.Create("""
            data: {"id":"chatcmpl-req-5f0c2a9e1b7d4c3a","object":"chat.completion.chunk","created":1732300000,"model":"Llama-3.2V-11B-cot","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"logprobs":null}],"usage":null,"system_fingerprint":null}

            data: {"id":"chatcmpl-req-5f0c2a9e1b7d4c3a","object":"chat.completion.chunk","created":1732300000,"model":"Llama-3.2V-11B-cot","choices":[{"index":0,"delta":{"content":"<SUMMARY>...</SUMMARY>\n\n"},"finish_reason":null,"logprobs":null}],"usage":null,"system_fingerprint":null}

            data: [DONE]
            """)),
    ]);
}
