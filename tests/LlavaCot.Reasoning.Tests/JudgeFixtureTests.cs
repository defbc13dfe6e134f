using System.Text.Json;
using LlavaCot.Reasoning.Judging;
using LlavaCot.Tests;

namespace LlavaCot.Reasoning.Tests;

/// <summary>Judge prompts and verdicts against the reference code's recorded calls (cases read at run time).</summary>
public class JudgeFixtureTests
{
    private static readonly string CasesFile = Fixtures.Path("llava-cot-judge", "cases.json");

    public static TheoryData<int> CaseIndices()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(CasesFile));
        return new TheoryData<int>(Enumerable.Range(0, doc.RootElement.GetProperty("cases").GetArrayLength()));
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public async Task Judge_issues_the_reference_calls_and_verdict(int index)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(CasesFile));
        var c = doc.RootElement.GetProperty("cases")[index];
        var input = c.GetProperty("input");
        var type = Enum.Parse<JudgeType>(input.GetProperty("type").GetString()!, ignoreCase: true);
        var outputs = input.GetProperty("outputs").EnumerateArray().Select(o => o.GetString()!).ToArray();
        var replies = new Queue<string>(c.GetProperty("judge_replies").EnumerateArray().Select(r => r.GetString()!));
        var calls = new List<CompletionRequest>();
        var judge = new Judge((requests, _) =>
        {
            calls.AddRange(requests);
            return Task.FromResult<IReadOnlyList<Completion>>(requests.Select(_ => new Completion(replies.Dequeue(), 1, StopReason.EndOfSequence)).ToList());
        }, SamplingOptions.Default, 2048, new SeedStream(1));

        var verdict = await judge.CompareAsync(type, input.GetProperty("question").GetString()!, outputs[0], outputs[1], CancellationToken.None);

        var expected = c.GetProperty("expected");
        var expectedCalls = expected.GetProperty("calls").EnumerateArray().ToList();
        Assert.Equal(expectedCalls.Count, calls.Count);
        for (var i = 0; i < calls.Count; i++)
        {
            Assert.Equal(expectedCalls[i].GetProperty("has_image").GetBoolean(), calls[i].WithImage);
            Assert.Equal(expectedCalls[i].GetProperty("text").GetString(), calls[i].UserText);
            Assert.True(calls[i].KeepSpecialTokens);
        }
        Assert.Equal(expected.GetProperty("replies_used").GetInt32(), c.GetProperty("judge_replies").GetArrayLength() - replies.Count);
        Assert.Equal(expected.GetProperty("verdict").GetInt32(), verdict.Winner);
        Assert.Equal(calls.Count, verdict.Calls.Count);
    }

    /// <summary>Batched judging (pre-checks together, then the pairwise prompt) reports the same calls and verdict.</summary>
    [Theory]
    [MemberData(nameof(CaseIndices))]
    public async Task Batched_judge_reports_the_reference_calls_and_verdict(int index)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(CasesFile));
        var c = doc.RootElement.GetProperty("cases")[index];
        var input = c.GetProperty("input");
        var type = Enum.Parse<JudgeType>(input.GetProperty("type").GetString()!, ignoreCase: true);
        var outputs = input.GetProperty("outputs").EnumerateArray().Select(o => o.GetString()!).ToArray();
        var expected = c.GetProperty("expected");
        var expectedCalls = expected.GetProperty("calls").EnumerateArray().ToList();
        // Replies by prompt: a batch may also ask a pre-check the reference skipped; it gets a neutral reply.
        var replyFor = expectedCalls.Select(e => e.GetProperty("text").GetString()!)
            .Zip(c.GetProperty("judge_replies").EnumerateArray().Select(r => r.GetString()!))
            .ToDictionary(p => p.First, p => p.Second);
        var batches = new List<int>();
        var judge = new Judge((requests, _) =>
        {
            batches.Add(requests.Count);
            return Task.FromResult<IReadOnlyList<Completion>>(requests
                .Select(r => new Completion(replyFor.GetValueOrDefault(r.UserText, "correct"), 1, StopReason.EndOfSequence)).ToList());
        }, SamplingOptions.Default, 2048, new SeedStream(1), batch: true);

        var verdict = await judge.CompareAsync(type, input.GetProperty("question").GetString()!, outputs[0], outputs[1], CancellationToken.None);

        Assert.Equal(expected.GetProperty("verdict").GetInt32(), verdict.Winner);
        Assert.Equal(expectedCalls.Select(e => (e.GetProperty("has_image").GetBoolean(), e.GetProperty("text").GetString())),
            verdict.Calls.Select(k => (k.WithImage, (string?)k.Prompt)));
        if (type == JudgeType.Reasoning)
            Assert.Equal(2, batches[0]);
    }
}
