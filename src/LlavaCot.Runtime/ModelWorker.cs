using System.Collections.Concurrent;
using LlavaCot.Model.Generation;
using TorchSharp;

namespace LlavaCot.Runtime;

/// <summary>
/// The one thread that touches the model. Torch dispose scopes and inference mode are thread-local, so all model
/// work is queued here and runs inside inference mode; callers await the result. Model work runs in steps of the
/// <see cref="StepScheduler"/>: image encodings a vision layer at a time, prompts a chunk at a time, and every running
/// decode job together; short work items (opening and closing sessions) run between steps.
/// </summary>
public sealed class ModelWorker : IDisposable
{
    /// <summary>Rows of one decode step, all requests together, unless set otherwise.</summary>
    public const int DefaultMaxBatchRows = 32;

    private readonly BlockingCollection<Action> _queue = new();
    private readonly Thread _thread;
    private readonly StepScheduler _scheduler;
    private int _disposed;

    public ModelWorker(string name = "llavacot-model", int maxBatchRows = DefaultMaxBatchRows)
    {
        _scheduler = new StepScheduler(maxBatchRows);
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _queue.Add(() =>
            {
                try
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    done.SetResult(work());
                }
                catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
                {
                    done.SetCanceled(ex.CancellationToken);
                }
                catch (Exception ex)
                {
                    done.SetException(ex);
                }
            }, CancellationToken.None);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            throw new ObjectDisposedException(nameof(ModelWorker), "the model worker has stopped");
        }
        return done.Task;
    }

    public Task RunAsync(Action work, CancellationToken cancellationToken = default) =>
        RunAsync(() =>
        {
            work();
            return true;
        }, cancellationToken);

    /// <summary>
    /// Queues sliced work (<see cref="StepScheduler.Add{T}"/>) in its lane and waits for its result; the slices run
    /// between other requests' decode steps.
    /// </summary>
    public async Task<T> RunSlicedAsync<T>(Lane lane, IEnumerable<int> slices, Func<T> result, CancellationToken cancellationToken)
    {
        var queued = await RunAsync(() => _scheduler.Add(lane, slices, result, cancellationToken), cancellationToken);
        return await queued;
    }

    /// <summary>
    /// Prefills in chunks in the prompt lane (<paramref name="prefill"/>, whose last slice builds a decode job and hands
    /// it to the callback it is given), then waits for the job's sequences while it runs beside the other requests' jobs;
    /// cancelling drops its work within one step.
    /// </summary>
    public async Task<IReadOnlyList<GeneratedSequence>> DecodeAsync(Func<Action<DecodeJob>, IEnumerable<int>> prefill,
        CancellationToken cancellationToken)
    {
        DecodeJob? job = null;
        // The job joins the running ones in the step of the prompt's last slice.
        var prefilled = await RunSlicedAsync(Lane.Prompt, prefill(j => job = j), () => _scheduler.Join(job!), cancellationToken);
        return await prefilled;
    }

    /// <summary>Decode steps so far, the rows they ran (mean batch = rows / steps), and the most rows of one step.</summary>
    public (long Steps, long Rows, long PeakRows) DecodeSteps =>
        (_scheduler.Statistics.DecodeSteps.Count, _scheduler.Statistics.DecodeRows, _scheduler.Statistics.PeakRows);

    /// <summary>What the steps ran, queue waits and decode gaps.</summary>
    public StepStatistics Steps => _scheduler.Statistics;

    /// <summary>Tensor work belongs on this worker's thread (dispose scopes are thread-local); anything else is a bug.</summary>
    public void ThrowIfNotCurrent()
    {
        if (Thread.CurrentThread != _thread)
            throw new InvalidOperationException($"tensor work must run on the model thread '{_thread.Name}', not '{Thread.CurrentThread.Name}'");
    }

    private void Loop()
    {
        using var mode = torch.inference_mode();
        while (true)
        {
            if (_scheduler.HasWork)
            {
                // Between steps, what was queued before this step started: new requests are admitted without
                // starving the running ones.
                for (var n = _queue.Count; n > 0 && _queue.TryTake(out var item); n--)
                    item();
                _scheduler.Step();
            }
            else if (_queue.TryTake(out var item, Timeout.Infinite))
                item();
            else
                break;
        }
        _scheduler.Abandon();
    }

    /// <summary>Runs what is queued, then stops the thread; later calls do nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        _queue.CompleteAdding();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
            _queue.Dispose();
        }
    }
}
