using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;

namespace LlavaCot.Runtime.Tests;

/// <summary>Whole searches on the tiny model (random weights, byte tokenizer).</summary>
public class SearchTests(TinyHost tiny) : IClassFixture<TinyHost>
{
    internal static ReasonRequest Request(int n, ulong seed, int maxNew = 16, ReasoningMode mode = ReasoningMode.StageBeam,
        string image = "img0_50x30_rgb.png") =>
        new("r", TinyHost.Image(image), "What is this", new ReasonOptions { BeamSize = n, Seed = seed, MaxNewTokens = maxNew, Mode = mode });

    internal static async Task<List<ReasonEvent>> Run(Reasoner reasoner, ReasonRequest request, CancellationToken ct = default)
    {
        var events = new List<ReasonEvent>();
        await foreach (var e in reasoner.ReasonAsync(request, ct))
            events.Add(e);
        return events;
    }

    /// <summary>The search's course; token deltas interleave differently when candidates decode as a batch, so they are left out.</summary>
    internal static string Signature(IEnumerable<ReasonEvent> events) => string.Join("\n", events.Where(e => e is not TokenDelta).Select(e => e switch
    {
        FinalAnswer f => $"final {f.Result.Text} | {f.Result.Conclusion} | {f.Result.GeneratedTokens}",
        JudgeComparison j => $"judge {j.Stage} {j.First} {j.Second} {j.Winner} {j.Decision} {string.Join("|", j.Calls.Where(c => c.Used).Select(c => c.Prompt + "=>" + c.Reply))}",
        _ => e.ToString(),
    }));

    [Fact]
    public async Task Stage_search_with_three_candidates_runs_to_a_final_answer()
    {
        var events = await Run(tiny.Host.Reasoner, Request(3, 9));
        Assert.IsType<RequestAccepted>(events[0]);
        var final = Assert.IsType<FinalAnswer>(events[^1]).Result;
        Assert.Equal(4, events.OfType<StageStarted>().Count());
        Assert.Equal(12, events.OfType<CandidateFinished>().Count());
        Assert.Equal(8, events.OfType<JudgeComparison>().Count());
        // Random weights never write tags: every comparison is decided by the missing-tags rule.
        Assert.All(events.OfType<JudgeComparison>(), j => Assert.Equal("missing_tags", j.Decision));
        Assert.Equal(string.Concat(events.OfType<StageWinner>().Select(w => w.Text)), final.Text);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_search()
    {
        var first = Signature(await Run(tiny.Host.Reasoner, Request(2, 77)));
        var again = Signature(await Run(tiny.Host.Reasoner, Request(2, 77)));
        Assert.Equal(first, again);
        Assert.NotEqual(first, Signature(await Run(tiny.Host.Reasoner, Request(2, 78))));
    }

    internal static string ForcedText(SampleRequest request, int candidate)
    {
        var close = request.Stop.StopStrings.Single();
        var open = close.Replace("</", "<");
        return $"{open} candidate {candidate} says {(open == "<REASONING>" ? $"{candidate} + 1 = {candidate + 1}." : "hello.")} {close}\n\n";
    }

    [Fact]
    public async Task Forced_stage_texts_exercise_the_real_judge_end_to_end()
    {
        var generator = new ForcedStageGenerator(tiny.Host.Generator, tiny.Host.Generator.Inputs.Tokenizer, ForcedText);
        var events = await Run(new Reasoner(generator, new ReasonerSettings { JudgeMaxNewTokens = 12 }), Request(3, 5, maxNew: 8));
        var final = Assert.IsType<FinalAnswer>(events[^1]).Result;
        var judges = events.OfType<JudgeComparison>().ToList();
        Assert.Equal(8, judges.Count);
        Assert.All(judges, j => Assert.NotEqual("missing_tags", j.Decision));
        // The reasoning stage pre-checks text-only; the other stages ask with the image.
        Assert.All(judges.Where(j => j.Stage == "reasoning"), j => Assert.False(j.Calls[0].WithImage));
        Assert.All(judges.Where(j => j.Stage != "reasoning"), j => Assert.True(Assert.Single(j.Calls).WithImage));
        // Judge replies have their own limit, not the request's max_new_tokens (8): the random model writes on to it.
        Assert.All(judges.SelectMany(j => j.Calls), c => Assert.InRange(c.Tokens, 1, 12));
        Assert.Contains(judges.SelectMany(j => j.Calls), c => c.Tokens > 8);
        Assert.Contains("Repsonse 2:  candidate", judges[0].Calls[^1].Prompt);
        Assert.StartsWith("<SUMMARY> candidate", final.Text);
        Assert.EndsWith("</CONCLUSION>\n\n", final.Text);
        Assert.StartsWith("candidate", final.Conclusion);
    }

    private static readonly ReasonerSettings ShortJudge = new() { JudgeMaxNewTokens = 10 };

    [Fact]
    public async Task A_whole_search_judged_in_batches_equals_the_search_judged_one_call_at_a_time()
    {
        var tokenizer = tiny.Host.Generator.Inputs.Tokenizer;
        var batched = new ForcedStageGenerator(tiny.Host.Generator, tokenizer, ForcedText);
        var single = new ForcedStageGenerator(tiny.Host.Generator, tokenizer, ForcedText, batchJudging: false);
        var inBatches = await Run(new Reasoner(batched, ShortJudge), Request(4, 21, maxNew: 6));
        var oneByOne = await Run(new Reasoner(single, ShortJudge), Request(4, 21, maxNew: 6));

        // The batched search really batched: the first wave's two comparisons, and the reasoning stage's pre-checks.
        Assert.Contains(batched.Batches, b => b > 1);
        Assert.All(single.Batches, b => Assert.Equal(1, b));
        var judges = inBatches.OfType<JudgeComparison>().ToList();
        Assert.Equal(12, judges.Count);
        Assert.Contains(judges, j => j.Stage == "reasoning" && j.Calls.Count >= 2);
        Assert.All(judges, j => Assert.NotEqual("missing_tags", j.Decision));
        Assert.Equal(Signature(oneByOne), Signature(inBatches));
        Assert.Equal(oneByOne.OfType<JudgeComparison>().Select(j => j.Calls.Count(c => c.Used)),
            judges.Select(j => j.Calls.Count(c => c.Used)));
    }

    [Fact]
    public async Task Optimised_search_encodes_the_image_once_and_prefills_each_prefix_token_once()
    {
        using var host = await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = LlavaCot.Tests.Fixtures.MllamaTiny, Device = "cpu" });
        await using var session = await host.Generator.OpenSessionAsync(new SessionRequest(TinyHost.Image(), "What is this"), default);
        var prefix = session.PromptIds;
        for (var stage = 0; stage < 4; stage++)
        {
            var candidates = await session.SampleAsync(new SampleRequest(prefix, [1, 2, 3], StopCondition.EosOnly(6), SamplingOptions.Default), null, default);
            prefix = candidates[stage % 3].Ids;
        }
        Assert.Equal(1, host.Model.Counters.VisionRuns);
        // Every token of the chain except the last stage's output was prefilled exactly once.
        var lastPrefix = prefix.Count - 6;
        Assert.Equal(lastPrefix, host.Model.Counters.PrefilledTokens);
    }

    /// <summary>A stage search whose stage prefixes and judge calls all reach the model, on a fresh host.</summary>
    private static async Task<(ModelHost Host, ForcedStageGenerator Generator, List<ReasonEvent> Events)> ChainSearch(long? prefixBytes, int n)
    {
        var host = await ModelHost.LoadAsync(new RuntimeOptions
        {
            ModelDirectory = LlavaCot.Tests.Fixtures.MllamaTiny, Device = "cpu", PrefixCacheBytes = prefixBytes, Date = new DateOnly(2026, 1, 2),
        });
        var generator = new ForcedStageGenerator(host.Generator, host.Generator.Inputs.Tokenizer, ForcedText, prefillStages: true,
            counters: host.Model.Counters);
        var events = await Run(new Reasoner(generator, ShortJudge), Request(n, 33, maxNew: 6));
        Assert.IsType<FinalAnswer>(events[^1]);
        return (host, generator, events);
    }

    /// <summary>About one prompt's keys and values on the tiny model (a cache of 128 positions, fp32).</summary>
    private static long PromptBytes
    {
        get
        {
            var c = Model.Config.MllamaConfig.Load(LlavaCot.Tests.Fixtures.MllamaTiny).Text;
            return 2L * c.NumHiddenLayers * c.NumKeyValueHeads * c.HeadDim * 128 * sizeof(float);
        }
    }

    private static void AssertEachStagePrefilledOnlyItsNewTokens(ForcedStageGenerator generator)
    {
        var stages = generator.Stages;
        Assert.Equal(4, stages.Count);
        Assert.Equal(stages[0].Prefix.Count, stages[0].Prefilled);
        for (var k = 1; k < stages.Count; k++)
            Assert.Equal(stages[k].Prefix.Count - stages[k - 1].Prefix.Count, stages[k].Prefilled);
    }

    [Fact]
    public async Task Each_stage_prefills_only_its_new_tokens_although_judge_calls_ran_in_between()
    {
        // Room for a few prompts only: judge and pre-check prompts (more than fit) ran between the stages, and the
        // stage chain, pinned, outlived them.
        var (host, generator, events) = await ChainSearch(prefixBytes: 3 * PromptBytes, n: 4);
        using (host)
        {
            Assert.True(host.Generator.PrefixCache.Evictions > 0, "nothing was evicted");
            Assert.Contains(events.OfType<JudgeComparison>(), j => j.Stage == "summary");
            AssertEachStagePrefilledOnlyItsNewTokens(generator);
        }
    }

    [Fact]
    public async Task With_room_for_every_prompt_each_distinct_prefix_is_prefilled_once()
    {
        var (host, generator, _) = await ChainSearch(prefixBytes: 1L << 30, n: 3);
        using (host)
        {
            AssertEachStagePrefilledOnlyItsNewTokens(generator);
            var inputs = host.Generator.Inputs;
            var prompts = generator.Stages.Select(s => (Image: true, Ids: s.Prefix))
                .Concat(generator.Completions.Select(c => (Image: c.WithImage, Ids: inputs.Tokenizer.Encode(inputs.Prompt(c.UserText, c.WithImage, host.Options.Date)))))
                .ToList();
            // A radix cache prefills every distinct prefix once. A prompt that is a prefix of one seen before (a
            // repeated pre-check) re-runs its last position only, for the logits.
            var distinct = new HashSet<string>();
            var repeats = 0;
            foreach (var (image, ids) in prompts)
            {
                var known = distinct.Contains(Key(image, ids, ids.Count));
                for (var i = 1; i <= ids.Count; i++)
                    distinct.Add(Key(image, ids, i));
                repeats += known ? 1 : 0;
            }
            Assert.True(generator.Completions.Count >= 6);
            Assert.Equal(distinct.Count + repeats, host.Model.Counters.PrefilledTokens);
            // Less than prefilling every prompt whole, as the reference does.
            var whole = prompts.Sum(p => p.Ids.Count);
            Assert.True(host.Model.Counters.PrefilledTokens < whole, $"{host.Model.Counters.PrefilledTokens} of {whole}");
        }

        static string Key(bool image, IReadOnlyList<int> ids, int length) => $"{image}:{string.Join(',', ids.Take(length))}";
    }

    [Fact]
    public async Task Each_request_is_charged_its_own_model_work_when_two_run_on_one_model()
    {
        using var tiny = new TinyHost();
        var reasoner = tiny.Host.Reasoner;
        var first = Run(reasoner, Request(2, 5, maxNew: 4));
        var second = Run(reasoner, Request(3, 6, maxNew: 5, image: "img2_96x96_rgb.png"));
        var costs = (await Task.WhenAll(first, second)).Select(e => e.OfType<FinalAnswer>().Single().Result.Cost!).ToList();
        var counters = tiny.Host.Model.Counters;
        Assert.All(costs, c => Assert.Equal(1, c.VisionPasses));
        Assert.Equal(counters.VisionRuns, costs.Sum(c => c.VisionPasses));
        Assert.Equal(counters.PrefilledTokens, costs.Sum(c => c.PrefilledTokens));
        Assert.Equal(counters.DecodedTokens, costs.Sum(c => c.DecodedTokens));
    }

    [Fact]
    public async Task A_second_request_on_the_same_image_runs_no_vision_pass_and_gives_the_same_search()
    {
        using var cached = new TinyHost();
        using var uncached = TinyHost.WithImageCache(0);
        var first = await Run(cached.Host.Reasoner, Request(2, 31));
        // The same pixels in another file format are the same image.
        var png = TinyHost.Image("img2_96x96_rgb.png");
        var bmp = Bmp(LlavaCot.Model.Inputs.ImageDecoder.Decode(png));
        var other = await Run(cached.Host.Reasoner, Request(2, 32, image: "img2_96x96_rgb.png"));
        var again = await Run(cached.Host.Reasoner, Request(2, 31));
        var asBmp = await Run(cached.Host.Reasoner, Request(2, 32) with { Image = bmp });
        ModelCost Cost(List<ReasonEvent> e) => e.OfType<FinalAnswer>().Single().Result.Cost!;
        Assert.Equal((1L, 0L, 1L), (Cost(first).VisionPasses, Cost(first).ImageCacheHits, Cost(first).ImageCacheMisses));
        Assert.Equal((0L, 1L, 0L), (Cost(again).VisionPasses, Cost(again).ImageCacheHits, Cost(again).ImageCacheMisses));
        Assert.Equal((0L, 1L), (Cost(asBmp).VisionPasses, Cost(asBmp).ImageCacheHits));
        Assert.Equal(2, cached.Host.Model.Counters.VisionRuns);
        Assert.Equal((2L, 2L), (cached.Host.Generator.ImageCache.Hits, cached.Host.Generator.ImageCache.Misses));
        // Cached features give exactly what a fresh encoding gives.
        Assert.Equal(Signature(first), Signature(again));
        Assert.Equal(Signature(other), Signature(asBmp));
        Assert.Equal(Signature(first), Signature(await Run(uncached.Host.Reasoner, Request(2, 31))));
        Assert.Equal(0, uncached.Host.Generator.ImageCache.Bytes);
    }

    [Fact]
    public async Task A_budget_of_one_image_evicts_the_least_recently_used_and_every_answer_stays_the_same()
    {
        string[] images = ["img0_50x30_rgb.png", "img2_96x96_rgb.png", "img0_50x30_rgb.png", "img0_50x30_rgb.png", "img2_96x96_rgb.png"];
        // What each image's features take, from a cache that keeps both.
        using var probe = new TinyHost();
        await Run(probe.Host.Reasoner, Request(1, 1, maxNew: 1, image: images[0]));
        var first = probe.Host.Generator.ImageCache.Bytes;
        await Run(probe.Host.Reasoner, Request(1, 1, maxNew: 1, image: images[1]));
        var second = probe.Host.Generator.ImageCache.Bytes - first;
        // Room for either image but not both.
        using var small = TinyHost.WithImageCache(Math.Max(first, second));
        using var none = TinyHost.WithImageCache(0);
        var costs = new List<ModelCost>();
        foreach (var (image, i) in images.Select((m, i) => (m, i)))
        {
            var request = Request(2, 40 + (ulong)i, maxNew: 6, image: image);
            var events = await Run(small.Host.Reasoner, request);
            costs.Add(events.OfType<FinalAnswer>().Single().Result.Cost!);
            Assert.Equal(Signature(await Run(none.Host.Reasoner, request)), Signature(events));
        }
        Assert.Equal([0L, 0, 0, 1, 0], costs.Select(c => c.ImageCacheHits));
        Assert.Equal([0L, 1, 1, 0, 1], costs.Select(c => c.ImageCacheEvictions));
        Assert.Equal(3, small.Host.Generator.ImageCache.Evictions);
        Assert.Equal(second, small.Host.Generator.ImageCache.Bytes);
    }

    /// <summary>An uncompressed 24-bit BMP of the image (bottom-up rows padded to 4 bytes).</summary>
    private static byte[] Bmp(LlavaCot.Model.Inputs.RgbImage image)
    {
        var stride = (image.Width * 3 + 3) / 4 * 4;
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write((byte)'B');
        w.Write((byte)'M');
        w.Write(54 + stride * image.Height);
        w.Write(0);
        w.Write(54);
        w.Write(40);
        w.Write(image.Width);
        w.Write(image.Height);
        w.Write((short)1);
        w.Write((short)24);
        w.Write(0);
        w.Write(stride * image.Height);
        w.Write(2835);
        w.Write(2835);
        w.Write(0);
        w.Write(0);
        for (var y = image.Height - 1; y >= 0; y--)
        {
            for (var x = 0; x < image.Width; x++)
            {
                var p = 3 * (y * image.Width + x);
                w.Write(image.Pixels[p + 2]);
                w.Write(image.Pixels[p + 1]);
                w.Write(image.Pixels[p]);
            }
            for (var pad = image.Width * 3; pad < stride; pad++)
                w.Write((byte)0);
        }
        return ms.ToArray();
    }

    [Fact]
    public async Task Cancelling_mid_stage_releases_every_tensor()
    {
        // The image's features stay in the shared cache by design: cache them before counting.
        await Run(tiny.Host.Reasoner, Request(1, 1, maxNew: 1));
        var baseline = await tiny.Host.LiveTensorsWithoutCachesAsync();
        using var cts = new CancellationTokenSource();
        var request = Request(3, 1, maxNew: 2000);
        var tokens = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var e in tiny.Host.Reasoner.ReasonAsync(request, cts.Token))
            {
                if (e is TokenDelta && ++tokens == 20)
                    cts.Cancel();
            }
        });
        var stepsAfter = tiny.Host.Model.Counters.DecodeSteps;
        // Anything the search still had queued on the model thread runs before this: no step follows the cancel.
        await tiny.Host.Worker.RunAsync(() => 0);
        Assert.Equal(stepsAfter, tiny.Host.Model.Counters.DecodeSteps);
        Assert.Equal(baseline, await tiny.Host.LiveTensorsWithoutCachesAsync());
    }
}
