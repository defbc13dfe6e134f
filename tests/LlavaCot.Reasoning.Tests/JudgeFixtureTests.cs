using System.Text.Json;
using LlavaCot.Reasoning.Judging;
using LlavaCot.Tests;

namespace LlavaCot.Reasoning.Tests;

/// <summary>Judge prompts and verdicts against the reference code's recorded calls (cases read at run time).</summary>
public class JudgeFixtureTests
{
    private static readonly string CasesFile = Fixtures.Path("llava-cot-judge", "cases.json");

    /// <summary>One case of cases.json: the judge's input, the scripted replies, and what the reference did.</summary>
    private sealed record JudgeCase(
        JudgeType Type, string Question, string First, string Second, string[] Replies,
        (bool WithImage, string Text)[] ExpectedCalls, int RepliesUsed, int Verdict)
    {
        public static JudgeCase Read(int index)
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(CasesFile));
            var c = doc.RootElement.GetProperty("cases")[index];
            var input = c.GetProperty("input");
            var outputs = input.GetProperty("outputs").EnumerateArray().Select(o => o.GetString()!).ToArray();
            var expected = c.GetProperty("expected");
            return new JudgeCase(
                Enum.Parse<JudgeType>(input.GetProperty("type").GetString()!, ignoreCase: true),
                input.GetProperty("question").GetString()!, outputs[0], outputs[1],
                c.GetProperty("judge_replies").EnumerateArray().Select(r => r.GetString()!).ToArray(),
                expected.GetProperty("calls").EnumerateArray()
                    .Select(e => (e.GetProperty("has_image").GetBoolean(), e.GetProperty("text").GetString()!)).ToArray(),
                expected.GetProperty("replies_used").GetInt32(),
                expected.GetProperty("verdict").GetInt32());
        }

        public async Task<JudgeVerdict> RunAsync(Judge judge) => (await judge.CompareManyAsync(Type, Question, [(First, Second)], CancellationToken.None))[0];
    }

    public static TheoryData<int> CaseIndices()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(CasesFile));
        return new TheoryData<int>(Enumerable.Range(0, doc.RootElement.GetProperty("cases").GetArrayLength()));
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public async Task Judge_issues_the_reference_calls_and_verdict(int index)
    {
        var c = JudgeCase.Read(index);
        var replies = new Queue<string>(c.Replies);
        var calls = new List<CompletionRequest>();
        var judge = new Judge((requests, _) =>
        {
            calls.AddRange(requests);
            return Task.FromResult<IReadOnlyList<Completion>>(requests.Select(_ => new Completion(replies.Dequeue(), 1, StopReason.EndOfSequence)).ToList());
        }, SamplingOptions.Default, 2048, new SeedStream(1));

        var verdict = await c.RunAsync(judge);

        Assert.Equal(c.ExpectedCalls.Length, calls.Count);
        for (var i = 0; i < calls.Count; i++)
        {
            Assert.Equal(c.ExpectedCalls[i].WithImage, calls[i].WithImage);
            Assert.Equal(c.ExpectedCalls[i].Text, calls[i].UserText);
            Assert.True(calls[i].KeepSpecialTokens);
        }
        Assert.Equal(c.RepliesUsed, c.Replies.Length - replies.Count);
        Assert.Equal(c.Verdict, verdict.Winner);
        Assert.Equal(calls.Count, verdict.Calls.Count);
    }

    /// <summary>Batched judging (every call of the comparison at once) reports the same calls and verdict.</summary>
    [Theory]
    [MemberData(nameof(CaseIndices))]
    public async Task Batched_judge_reports_the_reference_calls_and_verdict(int index)
    {
        var c = JudgeCase.Read(index);
        // Replies by prompt: a batch may also ask a pre-check the reference skipped; it gets a neutral reply.
        var replyFor = c.ExpectedCalls.Select(e => e.Text).Zip(c.Replies).ToDictionary(p => p.First, p => p.Second);
        var batches = new List<int>();
        var judge = new Judge((requests, _) =>
        {
            batches.Add(requests.Count);
            return Task.FromResult<IReadOnlyList<Completion>>(requests
                .Select(r => new Completion(replyFor.GetValueOrDefault(r.UserText, "correct"), 1, StopReason.EndOfSequence)).ToList());
        }, SamplingOptions.Default, 2048, new SeedStream(1), batch: true);

        var verdict = await c.RunAsync(judge);

        Assert.Equal(c.Verdict, verdict.Winner);
        Assert.Equal(c.ExpectedCalls, verdict.Calls.Where(k => k.Used).Select(k => (k.WithImage, k.Prompt)));
        // One batch: both pre-checks and the pairwise prompt for reasoning, the pairwise prompt alone otherwise; none
        // when missing tags decide. A call the batch made after the deciding one is on record, unused, so its tokens count.
        Assert.Equal(batches.Sum(), verdict.Calls.Count);
        Assert.Equal(c.ExpectedCalls.Length == 0 ? [] : [c.Type == JudgeType.Reasoning ? 3 : 1], batches);
        var firstUnused = verdict.Calls.ToList().FindIndex(k => !k.Used);
        Assert.True(firstUnused < 0 || verdict.Calls.Skip(firstUnused).All(k => !k.Used), "only calls after the deciding one go unused");
        Assert.Equal(c.ExpectedCalls.Length, verdict.Calls.Count(k => k.Used));
    }
}
