using LlavaCot.Cli.Bench;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;
using static LlavaCot.Runtime.Tests.SearchTests;

namespace LlavaCot.Runtime.Tests;

/// <summary>
/// The optimised engine (shared caches, forked rows, batched judge calls, chunked prefill, layer-by-layer vision) against
/// the reference's call pattern (<see cref="ReferencePattern"/>: a session per call, caches at 0, one row): the same tokens.
/// </summary>
public class ReferencePatternTests(TinyHost tiny) : IClassFixture<TinyHost>
{
    private ITextGenerator Reference => new ReferencePattern(tiny.Host.Generator.WithoutCaches());

    private static async Task<IReadOnlyList<Candidate>> Sample(ITextGenerator generator, SamplingOptions sampling, ulong[] seeds, int? top = null)
    {
        await using var session = await generator.OpenSessionAsync(new SessionRequest(TinyHost.Image(), "What is this"), default);
        return await session.SampleAsync(new SampleRequest(session.PromptIds, seeds, StopCondition.EosOnly(12), sampling) { TopLogProbs = top }, null, default);
    }

    [Fact]
    public async Task Batched_forked_decoding_equals_one_session_per_candidate()
    {
        ulong[] seeds = [11, 22, 33];
        foreach (var sampling in new[] { SamplingOptions.Greedy, SamplingOptions.Default, new SamplingOptions(1.0, 0, 1.0) })
        {
            var batched = await Sample(tiny.Host.Generator, sampling, seeds);
            var reference = await Sample(Reference, sampling, seeds);
            Assert.Equal(reference.Select(c => c.Ids), batched.Select(c => c.Ids));
            Assert.Equal(reference.Select(c => c.Text), batched.Select(c => c.Text));
            Assert.Equal(reference.Select(c => c.StopReason), batched.Select(c => c.StopReason));
        }
    }

    [Fact]
    public async Task Log_probabilities_agree_batched_or_alone()
    {
        var batched = await Sample(tiny.Host.Generator, SamplingOptions.Default, [4, 5, 6], top: 3);
        var reference = await Sample(Reference, SamplingOptions.Default, [4, 5, 6], top: 3);
        for (var i = 0; i < batched.Count; i++)
        {
            Assert.Equal(reference[i].Ids, batched[i].Ids);
            Assert.All(reference[i].LogProbs!.Zip(batched[i].LogProbs!), p => Assert.Equal(p.First.LogProb, p.Second.LogProb, 1e-4));
        }
    }

    [Fact]
    public async Task A_score_from_the_shared_caches_matches_one_from_nothing()
    {
        ScoreRequest Verify(string candidate) => new("Verify this answer to the question. Answer: ", candidate, true, ["correct", "incorrect"]);
        var request = new SessionRequest(TinyHost.Image(), "What is this", new DateOnly(2024, 11, 26));
        await using var session = await tiny.Host.Generator.OpenSessionAsync(request, default);
        await session.ScoreAsync([Verify("two red squares"), Verify("three")], default);
        var cached = await session.ScoreAsync([Verify("one blue circle")], default);
        await using var alone = await Reference.OpenSessionAsync(request, default);
        var reference = await alone.ScoreAsync([Verify("one blue circle")], default);
        Assert.All(reference[0].TokenLogProbs.Zip(cached[0].TokenLogProbs).SelectMany(p => p.First.Zip(p.Second)),
            p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-5, $"{p.First} vs {p.Second}"));
    }

    [Fact]
    public async Task A_search_gives_the_same_course_as_the_reference_pattern()
    {
        var optimised = Signature(await Run(tiny.Host.Reasoner, Request(2, 77)));
        Assert.Equal(optimised, Signature(await Run(new Reasoner(Reference), Request(2, 77))));
    }

    private static readonly ReasonerSettings ShortJudge = new() { JudgeMaxNewTokens = 10 };

    [Fact]
    public async Task Batched_judging_gives_the_same_search_as_the_reference_pattern()
    {
        var tokenizer = tiny.Host.Generator.Inputs.Tokenizer;
        var optimised = await Run(new Reasoner(new ForcedStageGenerator(tiny.Host.Generator, tokenizer, ForcedText), ShortJudge), Request(4, 12, maxNew: 6));
        var reference = await Run(new Reasoner(new ForcedStageGenerator(Reference, tokenizer, ForcedText), ShortJudge), Request(4, 12, maxNew: 6));
        Assert.Equal(Signature(reference), Signature(optimised));
        Assert.Contains(optimised.OfType<JudgeComparison>(), j => j.Decision == "judge");
    }

    [Fact]
    public async Task The_reference_pattern_encodes_the_image_and_prefills_the_whole_prompt_for_every_call()
    {
        using var host = await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = LlavaCot.Tests.Fixtures.MllamaTiny, Device = "cpu" });
        var generator = new ForcedStageGenerator(new ReferencePattern(host.Generator.WithoutCaches()), host.Generator.Inputs.Tokenizer, ForcedText);
        var events = await Run(new Reasoner(generator), Request(2, 5, maxNew: 4));
        var calls = events.OfType<JudgeComparison>().SelectMany(j => j.Calls).ToList();
        // Forced candidates never reach the model; each judge call is a session of its own: the vision tower runs for
        // every call with the image (and once for the session that renders the request's prompt), each prompt is
        // prefilled whole.
        Assert.Equal(calls.Count(c => c.WithImage) + 1, host.Model.Counters.VisionRuns);
        var tokenizer = host.Generator.Inputs.Tokenizer;
        var promptTokens = calls.Sum(c => tokenizer.Encode(host.Generator.Inputs.Prompt(c.Prompt, c.WithImage)).Count);
        Assert.Equal(promptTokens, host.Model.Counters.PrefilledTokens);
        // The request's own cost says the same, and what it decoded.
        var cost = events.OfType<FinalAnswer>().Single().Result.Cost!;
        Assert.Equal((host.Model.Counters.VisionRuns, (long)promptTokens, host.Model.Counters.DecodedTokens),
            (cost.VisionPasses, cost.PrefilledTokens, cost.DecodedTokens));
        Assert.True(cost.DecodedTokens > 0);
    }
}
