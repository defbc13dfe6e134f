using LlavaCot.Model.Generation;
using LlavaCot.Model.Tests.Mllama;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Generation;

/// <summary>The scheduler: each step a slice of each lane's oldest work, then a decode step of every running job.</summary>
public class StepSchedulerTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    /// <summary>Work of <paramref name="slices"/> slices that logs each one, and its disposal.</summary>
    private static IEnumerable<int> Logged(string name, int slices, List<string> log, Exception? failAt2 = null)
    {
        try
        {
            for (var i = 1; i <= slices; i++)
            {
                if (i == 2 && failAt2 is not null)
                    throw failAt2;
                log.Add($"{name}{i}");
                if (i < slices)
                    yield return 0;
            }
        }
        finally
        {
            log.Add($"{name} done");
        }
    }

    /// <summary>The value of a task the steps already completed (they run on this thread: nothing to wait for).</summary>
    private static T Value<T>(Task<T> task)
    {
        Assert.True(task.IsCompletedSuccessfully, $"the task is {task.Status}");
        return task.Result;
    }

    [Fact]
    public void Each_step_runs_one_slice_of_each_lanes_oldest_work_first_come_first_served()
    {
        var log = new List<string>();
        var s = new StepScheduler(8);
        var a = s.Add(Lane.Vision, Logged("a", 3, log), () => "A");
        var b = s.Add(Lane.Vision, Logged("b", 1, log), () => "B");
        var p = s.Add(Lane.Prompt, Logged("p", 2, log), () => "P");
        s.Step();
        Assert.Equal(["a1", "p1"], log);
        s.Step();
        Assert.Equal(["a1", "p1", "a2", "p2", "p done"], log);
        Assert.Equal("P", Value(p));
        Assert.False(a.IsCompleted);
        s.Step();
        Assert.Equal("A", Value(a));
        Assert.False(b.IsCompleted);
        s.Step();
        Assert.Equal("B", Value(b));
        Assert.False(s.HasWork);
        Assert.Equal(3, s.Statistics.QueueWaits.Count);
        Assert.Equal(4, s.Statistics.VisionSlices.Count);
        Assert.Equal(2, s.Statistics.PromptSlices.Count);
    }

    /// <summary>Work whose every slice takes <paramref name="milliseconds"/>, logging each.</summary>
    private static IEnumerable<int> Slept(string name, int slices, int milliseconds, List<string> log)
    {
        for (var i = 1; i <= slices; i++)
        {
            Thread.Sleep(milliseconds);
            log.Add($"{name}{i}");
            if (i < slices)
                yield return 0;
        }
    }

    [Fact]
    public void Each_step_records_how_much_of_its_budget_its_slices_used()
    {
        var log = new List<string>();
        var s = new StepScheduler(8);
        s.Add(Lane.Vision, Slept("v", 2, 200, log), () => 0);
        s.Add(Lane.Prompt, Slept("p", 3, 20, log), () => 0);
        for (var i = 0; i < 3; i++)
            s.Step();
        Assert.Equal(["v1", "p1", "v2", "p2", "p3"], log);
        // No budget before the first step's slices were measured; then each step's slices over the longest vision and
        // prompt slice before it, from the durations as recorded (sleeps overshoot under load, so no fixed range).
        var use = s.Statistics.BudgetUse.Since(0);
        var (v, p) = (s.Statistics.VisionSlices.Since(0), s.Statistics.PromptSlices.Since(0));
        Assert.Equal(2, use.Count);
        Assert.Equal((v[1] + p[1]) / (v[0] + p[0]), use[0], 12);
        Assert.Equal(p[2] / (Math.Max(v[0], v[1]) + Math.Max(p[0], p[1])), use[1], 12);
        Assert.True(use[1] < use[0], $"a prompt slice alone used {use[1]:F2} of its budget, a vision and a prompt slice {use[0]:F2}");
    }

    [Fact]
    public void Cancelled_work_leaves_before_its_next_slice_and_frees_what_it_holds()
    {
        var log = new List<string>();
        var s = new StepScheduler(8);
        using var cts = new CancellationTokenSource();
        var a = s.Add(Lane.Vision, Logged("a", 5, log), () => 1, cts.Token);
        var b = s.Add(Lane.Vision, Logged("b", 1, log), () => 2);
        s.Step();
        cts.Cancel();
        s.Step();
        Assert.Equal(["a1", "a done", "b1", "b done"], log);
        Assert.True(a.IsCanceled);
        Assert.Equal(2, Value(b));
    }

    [Fact]
    public void Failing_work_fails_its_task_alone()
    {
        var log = new List<string>();
        var s = new StepScheduler(8);
        var a = s.Add(Lane.Prompt, Logged("a", 3, log, new InvalidOperationException("broken")), () => 1);
        var b = s.Add(Lane.Prompt, Logged("b", 1, log), () => 2);
        s.Step();
        s.Step();
        Assert.True(a.IsFaulted);
        Assert.Equal("broken", a.Exception!.InnerException!.Message);
        s.Step();
        Assert.Equal(2, Value(b));
    }

    /// <summary>
    /// A running job keeps decoding while another image is encoded: every step carries one vision layer and one decode
    /// step, and the job's tokens are those it decodes alone.
    /// </summary>
    [Fact]
    public void A_running_job_decodes_between_the_layers_of_another_images_vision_pass()
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        var m = tiny.Model;
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, "case0");
        using var inputs = c.Inputs();
        using var image = ImageContext.Create(m, inputs)!;
        SequenceSpec[] Rows() => [new(SamplingOptions.Greedy, () => 0, StopRule.Length(2 * m.EncodeStepCount))];
        IReadOnlyList<int> Alone()
        {
            using var cache = m.NewCache(1, inputs.Length);
            var logits = m.Prefill(inputs.InputIds, cache, image.Kv, image.Prompt).select(1, 0);
            return Decoder.Run(m, cache, logits, image.Kv, image.Continuation, Rows())[0].NewIds;
        }
        var alone = Alone();

        var s = new StepScheduler(8);
        var prompt = m.NewCache(1, inputs.Length);
        var first = m.Prefill(inputs.InputIds, prompt, image.Kv, image.Prompt).select(1, 0);
        var decoding = s.Join(new DecodeJob(m, prompt, first, image.Kv, image.Continuation, Rows(), owned: [prompt]));
        CrossAttentionCache? encoded = null;
        IEnumerable<int> Encode()
        {
            foreach (var step in m.EncodeSteps(inputs.PixelValues!, inputs.AspectRatioIds!, inputs.AspectRatioMask!))
                if (step is null)
                    yield return 0;
                else
                    encoded = step;
        }
        var vision = s.Add(Lane.Vision, Encode(), () => encoded!);
        for (var i = 0; i < m.EncodeStepCount; i++)
        {
            Assert.False(vision.IsCompleted);
            s.Step();
        }
        using var kv = Value(vision);
        Assert.Equal(m.EncodeStepCount, s.Statistics.VisionSlices.Count);
        Assert.Equal(m.EncodeStepCount, s.Statistics.DecodeSteps.Count);
        while (s.HasWork)
            s.Step();
        Assert.Equal(alone, Value(decoding)[0].NewIds);
    }

    [Fact]
    public void Cancelling_during_a_vision_pass_frees_its_work_within_one_layer()
    {
        using var mode = inference_mode();
        var m = tiny.Model;
        using var c = FixtureCase.Open(Fixtures.MllamaTiny, "case0");
        using var inputs = c.Inputs();
        var baseline = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var s = new StepScheduler(8);
        using var cts = new CancellationTokenSource();
        IEnumerable<int> Encode()
        {
            foreach (var step in m.EncodeSteps(inputs.PixelValues!, inputs.AspectRatioIds!, inputs.AspectRatioMask!))
                if (step is null)
                    yield return 0;
                else
                    step.Dispose();
        }
        var vision = s.Add(Lane.Vision, Encode(), () => 0, cts.Token);
        s.Step();
        s.Step();
        Assert.True(TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount > baseline, "a pass in progress holds its hidden states");
        var visionSeconds = m.Counters.VisionSeconds;
        cts.Cancel();
        s.Step();
        Assert.True(vision.IsCanceled);
        Assert.Equal(2, s.Statistics.VisionSlices.Count);
        Assert.Equal(visionSeconds, m.Counters.VisionSeconds);
        Assert.Equal(baseline, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
