using System.Diagnostics;
using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>Where sliced work waits: image encodings, or prompts (prefill and scoring).</summary>
public enum Lane
{
    Vision,
    Prompt,
}

/// <summary>
/// All model work of every request, run a step at a time on the model thread. A step runs the oldest image encoding's
/// next slice (one vision encoder layer), the oldest prompt work's next slice (one prefill chunk), then one decode step
/// over the rows of every running job (up to <paramref name="maxRows"/>, oldest jobs first; the first job that does not
/// fit waits with all after it for the next step). Each lane is first come, first served, so nothing starves, and a
/// running search waits at most one slice of each lane between two of its decode steps: the step's budget, one vision
/// slice and one prompt slice, the longest of each measured so far (how much of it each step used is recorded).
/// Sliced work is an iterator:
/// each <c>MoveNext</c> is one slice, inside a dispose scope of its own (what lives across slices is detached). A
/// cancelled request's work leaves before the next slice or step.
/// </summary>
public sealed class StepScheduler(int maxRows)
{
    private abstract class Sliced(CancellationToken cancellation)
    {
        public CancellationToken Cancellation { get; } = cancellation;
        public long Queued { get; } = Stopwatch.GetTimestamp();
        public bool Started { get; set; }

        /// <summary>Runs one slice; false once the work is done (its result delivered).</summary>
        public abstract bool Advance();

        public abstract void End(Exception? failure);
    }

    private sealed class Sliced<T>(IEnumerable<int> slices, Func<T> result, CancellationToken cancellation) : Sliced(cancellation)
    {
        private readonly IEnumerator<int> _slices = slices.GetEnumerator();
        public TaskCompletionSource<T> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override bool Advance()
        {
            if (_slices.MoveNext())
                return true;
            _slices.Dispose();
            Done.TrySetResult(result());
            return false;
        }

        public override void End(Exception? failure)
        {
            _slices.Dispose();
            if (failure is null)
                Done.TrySetCanceled(Cancellation);
            else
                Done.TrySetException(failure);
        }
    }

    private sealed record Running(DecodeJob Job, TaskCompletionSource<IReadOnlyList<GeneratedSequence>> Done)
    {
        /// <summary>When its last decode step ended (null before its first).</summary>
        public long? LastStep { get; set; }
    }

    private readonly Queue<Sliced> _vision = new();
    private readonly Queue<Sliced> _prompts = new();
    private readonly List<Running> _running = [];

    public bool HasWork => _vision.Count > 0 || _prompts.Count > 0 || _running.Count > 0;

    /// <summary>What the steps ran and how long requests waited; read from any thread.</summary>
    public StepStatistics Statistics { get; } = new();

    /// <summary>
    /// Queues sliced work: <paramref name="slices"/> runs a slice per step (the number each yields is not read), then
    /// <paramref name="result"/> gives the task's value. Disposing the iterator (on cancellation or failure) must free
    /// what it holds.
    /// </summary>
    public Task<T> Add<T>(Lane lane, IEnumerable<int> slices, Func<T> result, CancellationToken cancellation = default)
    {
        var work = new Sliced<T>(slices, result, cancellation);
        (lane == Lane.Vision ? _vision : _prompts).Enqueue(work);
        return work.Done.Task;
    }

    /// <summary>Adds a decode job (it takes ownership) at once; the task completes with its sequences or its cancellation.</summary>
    public Task<IReadOnlyList<GeneratedSequence>> Join(DecodeJob job)
    {
        var done = new TaskCompletionSource<IReadOnlyList<GeneratedSequence>>(TaskCreationOptions.RunContinuationsAsynchronously);
        _running.Add(new Running(job, done));
        return done.Task;
    }

    /// <summary>One step: a slice of each lane's oldest work, then a decode step.</summary>
    public void Step()
    {
        var budget = Statistics.VisionSlices.Max + Statistics.PromptSlices.Max;
        var vision = Advance(_vision, Statistics.VisionSlices);
        var prompt = Advance(_prompts, Statistics.PromptSlices);
        if (budget > 0 && vision + prompt > 0)
            Statistics.BudgetUse.Add((vision + prompt) / budget);
        var start = Stopwatch.GetTimestamp();
        var rows = DecodeStep();
        if (rows > 0)
            Statistics.DecodeSteps.AddTicks(Stopwatch.GetTimestamp() - start);
        Statistics.Stepped(rows);
    }

    /// <summary>Runs the lane's oldest work's next slice, timed into <paramref name="slices"/>; its seconds (0: the lane was empty).</summary>
    private double Advance(Queue<Sliced> lane, DurationSeries slices)
    {
        while (lane.TryPeek(out var work) && work.Cancellation.IsCancellationRequested)
            lane.Dequeue().End(null);
        if (!lane.TryPeek(out var head))
            return 0;
        var start = Stopwatch.GetTimestamp();
        if (!head.Started)
        {
            head.Started = true;
            Statistics.QueueWaits.AddTicks(start - head.Queued);
        }
        using var scope = NewDisposeScope();
        try
        {
            if (!head.Advance())
                lane.Dequeue();
        }
        catch (Exception ex)
        {
            lane.Dequeue().End(ex);
        }
        var seconds = StepStatistics.Seconds(Stopwatch.GetTimestamp() - start);
        slices.Add(seconds);
        return seconds;
    }

    /// <summary>Samples every job that fits, finishes those that are done, one model call per model for the rest; the rows run.</summary>
    private int DecodeStep()
    {
        foreach (var r in _running.Where(r => r.Job.Cancellation.IsCancellationRequested).ToList())
            Finish(r, () => r.Done.TrySetCanceled(r.Job.Cancellation));
        var taken = new List<(Running Running, DecodeRows Next)>();
        var rows = 0;
        foreach (var r in _running.ToList())
        {
            if (taken.Count > 0 && rows + r.Job.Rows > maxRows)
                break;
            DecodeRows? next;
            try
            {
                next = r.Job.Step();
            }
            catch (Exception ex)
            {
                Finish(r, () => r.Done.TrySetException(ex));
                continue;
            }
            if (next is null)
                Finish(r, () => r.Done.TrySetResult(r.Job.Results));
            else
            {
                taken.Add((r, next));
                rows += (int)next.Cache.Batch;
            }
        }
        foreach (var model in taken.GroupBy(t => t.Running.Job.Model))
            Run(model.Key, model.ToList());
        return rows;
    }

    private void Run(MllamaModel model, IReadOnlyList<(Running Running, DecodeRows Next)> taken)
    {
        using var scope = NewDisposeScope();
        try
        {
            var logits = model.Decode(taken.Select(t => t.Next).ToList()).select(1, 0);
            var now = Stopwatch.GetTimestamp();
            var start = 0L;
            foreach (var (running, next) in taken)
            {
                running.Job.Receive(logits.narrow(0, start, next.Cache.Batch));
                start += next.Cache.Batch;
                if (running.LastStep is { } last)
                    Statistics.DecodeGaps.AddTicks(now - last);
                running.LastStep = now;
            }
        }
        catch (Exception ex)
        {
            foreach (var (running, _) in taken)
                Finish(running, () => running.Done.TrySetException(ex));
        }
        finally
        {
            foreach (var (_, next) in taken)
                next.Ids.Dispose();
        }
    }

    private void Finish(Running r, Action complete)
    {
        _running.Remove(r);
        r.Job.Dispose();
        complete();
    }

    /// <summary>Cancels all queued and running work (the model is going away).</summary>
    public void Abandon()
    {
        foreach (var lane in new[] { _vision, _prompts })
            while (lane.TryDequeue(out var work))
                work.End(null);
        foreach (var r in _running.ToList())
            Finish(r, () => r.Done.TrySetCanceled());
    }
}
