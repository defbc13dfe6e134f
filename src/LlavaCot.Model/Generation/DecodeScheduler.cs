using static TorchSharp.torch;

namespace LlavaCot.Model.Generation;

/// <summary>
/// The running decode jobs of every request, stepped together on the model thread: each step samples every job's
/// rows and runs one model call over all of them (up to <paramref name="maxRows"/>, oldest jobs first; the first job
/// that does not fit waits with all after it for the next step). A cancelled job leaves before the next step. Jobs
/// finish through their tasks.
/// </summary>
public sealed class DecodeScheduler(int maxRows)
{
    private sealed record Running(DecodeJob Job, TaskCompletionSource<IReadOnlyList<GeneratedSequence>> Done);

    private readonly List<Running> _running = [];

    public bool HasWork => _running.Count > 0;

    /// <summary>Rows in every model call so far (for the mean decode batch), the calls, and the most rows in one.</summary>
    public long SteppedRows { get; private set; }
    public long Steps { get; private set; }
    public long PeakRows { get; private set; }

    /// <summary>Adds a job (it takes ownership); the task completes with its sequences or its cancellation.</summary>
    public Task<IReadOnlyList<GeneratedSequence>> Add(DecodeJob job)
    {
        var done = new TaskCompletionSource<IReadOnlyList<GeneratedSequence>>(TaskCreationOptions.RunContinuationsAsynchronously);
        _running.Add(new Running(job, done));
        return done.Task;
    }

    /// <summary>One step: sample every job that fits, finish those that are done, one model call per model for the rest.</summary>
    public void Step()
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
    }

    private void Run(MllamaModel model, IReadOnlyList<(Running Running, DecodeRows Next)> taken)
    {
        using var scope = NewDisposeScope();
        try
        {
            var logits = model.Decode(taken.Select(t => t.Next).ToList()).select(1, 0);
            Steps++;
            SteppedRows += logits.shape[0];
            PeakRows = Math.Max(PeakRows, logits.shape[0]);
            var start = 0L;
            foreach (var (running, next) in taken)
            {
                running.Job.Receive(logits.narrow(0, start, next.Cache.Batch));
                start += next.Cache.Batch;
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

    /// <summary>Cancels every running job (the model is going away).</summary>
    public void Abandon()
    {
        foreach (var r in _running.ToList())
            Finish(r, () => r.Done.TrySetCanceled());
    }
}
