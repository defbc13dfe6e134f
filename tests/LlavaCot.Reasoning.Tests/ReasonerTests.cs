using LlavaCot.Reasoning.Events;

namespace LlavaCot.Reasoning.Tests;

public class ReasonerTests
{
    private static string StageText(SampleRequest request, int candidate)
    {
        var close = request.Stop.StopStrings.Single();
        var open = close.Replace("</", "<");
        return $"{open} c{candidate} {request.Seeds[candidate] % 1000} {close}\n\n";
    }

    private static ReasonRequest Request(int n, ulong seed = 42, ReasoningMode mode = ReasoningMode.StageBeam) =>
        new("req-1", new byte[] { 1, 2, 3 }, "How many?", new ReasonOptions { BeamSize = n, Seed = seed, Mode = mode });

    private static async Task<List<ReasonEvent>> Collect(Reasoner reasoner, ReasonRequest request, CancellationToken ct = default)
    {
        var events = new List<ReasonEvent>();
        await foreach (var e in reasoner.ReasonAsync(request, ct))
            events.Add(e);
        return events;
    }

    [Fact]
    public async Task Stage_beam_emits_a_well_formed_event_sequence()
    {
        var session = new ScriptedSession(StageText, Enumerable.Repeat("Since it is, I choose response 1.", 100));
        var events = await Collect(new Reasoner(session), Request(3));

        Assert.IsType<RequestAccepted>(events[0]);
        Assert.IsType<FinalAnswer>(events[^1]);
        var kinds = events.Where(e => e is not TokenDelta).Select(e => e.Kind).ToList();
        var perStage = new[] { "stage_started", "candidate_done", "candidate_done", "candidate_done", "judge", "judge", "stage_winner" };
        Assert.Equal(new[] { "accepted" }.Concat(Enumerable.Repeat(perStage, 4).SelectMany(s => s)).Append("final"), kinds);
        Assert.Equal(["summary", "caption", "reasoning", "conclusion"], events.OfType<StageStarted>().Select(s => s.Stage));
        Assert.Equal(12, events.OfType<TokenDelta>().Count());

        var final = ((FinalAnswer)events[^1]).Result;
        var winners = events.OfType<StageWinner>().Select(w => w.Text);
        Assert.Equal(string.Concat(winners), final.Text);
        Assert.Equal(4, final.Stages.Count);
        // 3 stages × 2 comparisons, plus the reasoning stage's two pre-checks per comparison.
        Assert.Equal(4 * 2 + 2 * 2, final.JudgeCalls);
        Assert.Equal(final.Stages[^1].WinnerText.Replace("<CONCLUSION>", "").Replace("</CONCLUSION>", "").Trim(), final.Conclusion);
    }

    [Fact]
    public async Task Each_stage_continues_the_survivors_full_token_sequence()
    {
        var session = new ScriptedSession(StageText, Enumerable.Repeat("I choose response 1", 100));
        var events = await Collect(new Reasoner(session), Request(2));
        var winners = events.OfType<StageWinner>().ToList();
        for (var stage = 1; stage < 4; stage++)
        {
            var prefix = session.Samples[stage].Prefix;
            var expected = session.PromptIds.Concat(string.Concat(winners.Take(stage).Select(w => w.Text)).Select(c => (int)c));
            Assert.Equal(expected, prefix);
        }
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_events()
    {
        async Task<string> Run(ulong seed)
        {
            var session = new ScriptedSession(StageText, Enumerable.Repeat("Since so, I choose response 2.", 100));
            var events = await Collect(new Reasoner(session), Request(4, seed));
            return string.Join("\n", events.Select(e => e switch
            {
                FinalAnswer f => f.Result with { ElapsedSeconds = 0, Stages = [] },
                JudgeComparison j => j with { ElapsedSeconds = 0 },
                _ => (object)e,
            }));
        }
        Assert.Equal(await Run(5), await Run(5));
        Assert.NotEqual(await Run(5), await Run(6));
    }

    [Theory]
    [InlineData(ReasoningMode.BestOfN, "answer", 1)]
    [InlineData(ReasoningMode.Single, "answer", 1)]
    public async Task Whole_answer_modes_make_one_stage(ReasoningMode mode, string stage, int stages)
    {
        var session = new ScriptedSession((r, i) => $"<SUMMARY>s</SUMMARY><CONCLUSION> {i} </CONCLUSION>", Enumerable.Repeat("I choose response 1", 10));
        var events = await Collect(new Reasoner(session), Request(3, mode: mode));
        Assert.Equal(stages, events.OfType<StageStarted>().Count());
        Assert.All(events.OfType<StageStarted>(), s => Assert.Equal(stage, s.Stage));
        var final = ((FinalAnswer)events[^1]).Result;
        Assert.Equal(mode == ReasoningMode.Single ? 0 : 2, final.JudgeCalls);
        Assert.All(session.Samples, s => Assert.Equal([Answers.ConclusionEnd], s.Stop.StopStrings));
    }

    [Fact]
    public async Task Sentence_beam_stops_at_the_conclusion()
    {
        static int Sentences(SampleRequest r) => r.Prefix.Count(c => c == '.');
        var session = new ScriptedSession((r, i) => Sentences(r) < 2 ? $"Sentence {Sentences(r)}{i}." : "<CONCLUSION> done </CONCLUSION>",
            Enumerable.Repeat("I choose response 1", 100));
        var events = await Collect(new Reasoner(session), Request(2, mode: ReasoningMode.SentenceBeam));
        Assert.Equal(3, events.OfType<StageStarted>().Count());
        Assert.All(session.Samples, s => Assert.True(s.Stop.StopAtPeriod));
        Assert.EndsWith("</CONCLUSION>", ((FinalAnswer)events[^1]).Result.Text);
    }

    [Fact]
    public async Task Two_stage_prompts_the_answer_with_the_rationale()
    {
        var session = new ScriptedSession((r, i) => "<SUMMARY> s </SUMMARY><REASONING> r </REASONING>", ["The answer is 4."]);
        var events = await Collect(new Reasoner(session), Request(1, mode: ReasoningMode.TwoStage));
        Assert.Equal([Answers.ReasoningEnd], session.Samples.Single().Stop.StopStrings);
        var call = session.Completions.Single();
        Assert.Equal("How many?\n\nRationale: <SUMMARY> s </SUMMARY><REASONING> r </REASONING>\n\nAnswer the question based on the rationale.", call.UserText);
        Assert.True(call.WithImage);
        Assert.False(call.KeepSpecialTokens);
        Assert.Equal("The answer is 4.", ((FinalAnswer)events[^1]).Result.Text);
    }

    [Fact]
    public async Task Judge_calls_use_the_judge_limit_not_the_requests_max_new_tokens()
    {
        var request = Request(3) with { Options = Request(3).Options with { MaxNewTokens = 16 } };
        foreach (var limit in new[] { 2048, 300 })
        {
            var session = new ScriptedSession(StageText, Enumerable.Repeat("Since so, I choose response 1.", 100));
            var events = await Collect(new Reasoner(session, new ReasonerSettings { JudgeMaxNewTokens = limit }), request);
            Assert.IsType<FinalAnswer>(events[^1]);
            Assert.All(session.Samples, s => Assert.Equal(16, s.Stop.MaxNewTokens));
            Assert.NotEmpty(session.Completions);
            Assert.All(session.Completions, c => Assert.Equal(limit, c.Stop.MaxNewTokens));
        }
        var defaults = new ScriptedSession(StageText, Enumerable.Repeat("I choose response 1", 100));
        await Collect(new Reasoner(defaults), request);
        Assert.All(defaults.Completions, c => Assert.Equal(StopCondition.DefaultMaxNewTokens, c.Stop.MaxNewTokens));
    }

    [Fact]
    public async Task Batched_judge_calls_that_were_not_needed_still_count()
    {
        // Reasoning stage, N=2: the first pre-check says "incorrect", so the reference asks neither the second nor the
        // pairwise prompt; a batch asks all three. Their replies are kept on record as unused and their tokens count in
        // judge_tokens and judge_calls.
        static IEnumerable<string> Replies()
        {
            for (var i = 0; i < 2; i++)
                yield return "I choose response 1";
            yield return "This is incorrect.";
            yield return "It is correct, nothing more to say here.";
            yield return "Response 1 is better. I choose response 1"; // would pick the first text, were it read
            yield return "I choose response 1";
        }
        var session = new ScriptedSession(StageText, Replies()) { Batches = true };
        var events = await Collect(new Reasoner(session), Request(2));
        var reasoning = events.OfType<JudgeComparison>().Single(j => j.Stage == "reasoning");
        Assert.Equal("incorrect_reasoning", reasoning.Decision);
        Assert.Equal(reasoning.Second, reasoning.Winner);
        Assert.Equal([true, false, false], reasoning.Calls.Select(c => c.Used));
        Assert.Equal([false, false, true], reasoning.Calls.Select(c => c.WithImage));
        var final = ((FinalAnswer)events[^1]).Result;
        Assert.Equal(session.Completions.Count, final.JudgeCalls);
        Assert.Equal(Replies().Sum(r => r.Length), final.JudgeTokens);
        Assert.Equal(events.OfType<JudgeComparison>().SelectMany(j => j.Calls).Sum(c => c.Tokens), final.JudgeTokens);
    }

    [Fact]
    public async Task A_slow_reader_holds_a_bounded_buffer_and_loses_no_event()
    {
        const int capacity = 4;
        var session = new ScriptedSession((r, i) => StageText(r, i) + new string('x', 500), Enumerable.Repeat("I choose response 1", 100))
        {
            CharacterDeltas = true,
        };
        var run = await new Reasoner(session, new ReasonerSettings { EventCapacity = capacity }).StartAsync(Request(3), default);
        await using (run)
        {
            await using var reader = run.EventsAsync(default).GetAsyncEnumerator();
            Assert.True(await reader.MoveNextAsync());
            var events = new List<ReasonEvent> { reader.Current };
            // The reader pauses: the search runs until the buffer is full, then waits for it (it cannot finish
            // without the reader). Token deltas never wait: each candidate's 500 one-character deltas merge.
            for (var waited = 0; run.Buffer.WaitingWriters == 0; waited++)
            {
                Assert.True(waited < 3000, "the search never waited for the reader");
                await Task.Delay(10);
            }
            Assert.InRange(run.Buffer.Pending, capacity, capacity + 3);
            Assert.Empty(events.OfType<FinalAnswer>());
            while (await reader.MoveNextAsync())
                events.Add(reader.Current);
            Assert.IsType<FinalAnswer>(events[^1]);
            Assert.Equal(4, events.OfType<StageWinner>().Count());
            Assert.Equal(8, events.OfType<JudgeComparison>().Count());
            // Merged while the reader lagged, each candidate's text still arrives whole and in order.
            Assert.True(events.OfType<TokenDelta>().Count() < 4 * 3 * 500);
            foreach (var done in events.OfType<CandidateFinished>())
                Assert.Equal(done.Text, string.Concat(events.OfType<TokenDelta>()
                    .Where(t => t.Index == done.Index && t.Candidate == done.Candidate).Select(t => t.Text)));
        }
    }

    [Fact]
    public async Task Invalid_options_become_an_error_event()
    {
        var session = new ScriptedSession(StageText);
        var events = await Collect(new Reasoner(session), Request(17));
        Assert.Contains("beam_size", Assert.IsType<ReasonError>(Assert.Single(events)).Message);
        Assert.Empty(session.Samples);
    }

    [Fact]
    public async Task Cancellation_stops_the_search_and_closes_the_session()
    {
        using var cts = new CancellationTokenSource();
        var session = new ScriptedSession(StageText, Enumerable.Repeat("I choose response 1", 100))
        {
            BeforeSample = async ct =>
            {
                cts.Cancel();
                await Task.Delay(Timeout.Infinite, ct);
            },
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Collect(new Reasoner(session), Request(2), cts.Token));
        Assert.Single(session.Samples);
        Assert.True(session.Disposed);
    }
}
