using LlavaCot.Reasoning;

namespace LlavaCot.Runtime.Tests;

public class GeneratorTests(TinyHost tiny) : IClassFixture<TinyHost>
{
    private async Task<IReadOnlyList<Candidate>> Sample(SamplingOptions sampling, ulong[] seeds, int maxNew = 12)
    {
        await using var session = await tiny.Host.Generator.OpenSessionAsync(new SessionRequest(TinyHost.Image(), "What is this"), default);
        return await session.SampleAsync(new SampleRequest(session.PromptIds, seeds, StopCondition.EosOnly(maxNew), sampling), null, default);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_tokens_and_seeds_differ()
    {
        var first = await Sample(SamplingOptions.Default, [5, 6, 7]);
        var again = await Sample(SamplingOptions.Default, [5, 6, 7]);
        Assert.Equal(first.Select(c => c.Ids), again.Select(c => c.Ids));
        Assert.NotEqual(first[0].Ids, first[1].Ids);
        Assert.All(first, c => Assert.Equal(12, c.NewTokens));
    }

    [Fact]
    public async Task Greedy_candidates_continue_the_prompt_with_the_models_argmax()
    {
        var candidates = await Sample(SamplingOptions.Greedy, [1, 2]);
        Assert.Equal(candidates[0].Ids, candidates[1].Ids);
        Assert.Equal(StopReason.MaxTokens, candidates[0].StopReason);
    }

    [Fact]
    public async Task Streamed_deltas_concatenate_to_each_candidates_text()
    {
        await using var session = await tiny.Host.Generator.OpenSessionAsync(new SessionRequest(TinyHost.Image(), "What is this"), default);
        var streamed = new string[3].Select(_ => "").ToArray();
        var candidates = await session.SampleAsync(new SampleRequest(session.PromptIds, [1, 2, 3], StopCondition.EosOnly(20), SamplingOptions.Default),
            (i, d) => streamed[i] += d, default);
        Assert.Equal(candidates.Select(c => c.NewText), streamed);
    }

    [Fact]
    public async Task A_stop_string_ends_the_candidate_on_the_token_that_completes_it()
    {
        // Greedy continuation of the tiny model is fixed: find a character it writes, then stop on it.
        var free = (await Sample(SamplingOptions.Greedy, [1], maxNew: 30))[0];
        var stop = free.NewText.FirstOrDefault(c => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z').ToString();
        Assert.False(string.IsNullOrEmpty(stop.Trim('\0')), $"greedy text has no letter: {free.NewText}");
        await using var session = await tiny.Host.Generator.OpenSessionAsync(new SessionRequest(TinyHost.Image(), "What is this"), default);
        var stopped = (await session.SampleAsync(new SampleRequest(session.PromptIds, [1], new StopCondition([stop], 30), SamplingOptions.Greedy), null, default))[0];
        Assert.Equal(StopReason.StopString, stopped.StopReason);
        Assert.EndsWith(stop, stopped.NewText);
        Assert.StartsWith(stopped.NewText, free.NewText);
    }

    [Fact]
    public async Task Judge_completion_drops_end_of_turn_markers()
    {
        await using var session = await tiny.Host.Generator.OpenSessionAsync(new SessionRequest(TinyHost.Image(), "q"), default);
        var completion = await session.CompleteAsync(new CompletionRequest("judge this", true, StopCondition.EosOnly(8), SamplingOptions.Default, 3, KeepSpecialTokens: true), null, default);
        Assert.DoesNotContain("<|eot_id|>", completion.Text);
        Assert.InRange(completion.Tokens, 1, 8);
    }

    [Fact]
    public async Task A_batch_of_completions_equals_each_completion_alone()
    {
        await using var session = await tiny.Host.Generator.OpenSessionAsync(new SessionRequest(TinyHost.Image(), "q"), default);
        Assert.True(session.BatchesCompletions);
        CompletionRequest Ask(string text, bool image, ulong seed) =>
            new(text, image, StopCondition.EosOnly(10), SamplingOptions.Default, seed, KeepSpecialTokens: true);
        // Different lengths (stacked right-aligned), with and without the image.
        CompletionRequest[] requests = [Ask("short", true, 1), Ask("a much longer judge prompt text", true, 2), Ask("text only", false, 3),
            Ask("another text-only prompt, longer", false, 4), Ask("third image prompt", true, 5)];
        var batched = await session.CompleteManyAsync(requests, default);
        var alone = new List<Completion>();
        foreach (var r in requests)
            alone.Add(await session.CompleteAsync(r, null, default));
        Assert.Equal(alone, batched);
    }

    [Fact]
    public async Task Bad_image_bytes_fail_when_the_session_opens()
    {
        var ex = await Assert.ThrowsAsync<Model.Inputs.ImageDecodeException>(() =>
            tiny.Host.Generator.OpenSessionAsync(new SessionRequest(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, "q"), default));
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }
}
