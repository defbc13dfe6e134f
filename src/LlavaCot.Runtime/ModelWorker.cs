using System.Collections.Concurrent;
using LlavaCot.Model.Generation;
using TorchSharp;

namespace LlavaCot.Runtime;

/// <summary>
/// The one thread that touches the model. Torch dispose scopes and inference mode are thread-local, so all model
/// work is queued here and runs in order, inside inference mode; callers await the result. Decoding is not one
/// work item: a request's decode job joins the <see cref="DecodeScheduler"/>, which steps every running job together,
/// and queued work (prefills, new jobs, clean-up) runs between steps.
/// </summary>
public sealed class ModelWorker : IDisposable
{
    /// <summary>Rows of one decode step, all requests together, unless set otherwise.</summary>
    public const int DefaultMaxBatchRows = 32;

    private readonly BlockingCollection<Action> _queue = new();
    private readonly Thread _thread;
    private readonly DecodeScheduler _scheduler;
    private int _pending;
    private int _disposed;

    public ModelWorker(string name = "llavacot-model", int maxBatchRows = DefaultMaxBatchRows)
    {
        _scheduler = new DecodeScheduler(maxBatchRows);
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Work items waiting or running.</summary>
    public int Pending => Volatile.Read(ref _pending);

    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Increment(ref _pending);
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
                finally
                {
                    Interlocked.Decrement(ref _pending);
                }
            }, CancellationToken.None);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            Interlocked.Decrement(ref _pending);
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
    /// Starts a decode job on the model thread (<paramref name="start"/> prefills and builds it) and waits for its
    /// sequences while it runs beside the other requests' jobs; cancelling drops its rows within one step.
    /// </summary>
    public async Task<IReadOnlyList<GeneratedSequence>> DecodeAsync(Func<DecodeJob> start, CancellationToken cancellationToken)
    {
        var running = await RunAsync(() => _scheduler.Add(start()), cancellationToken);
        return await running;
    }

    /// <summary>Decode steps so far, the rows they ran (mean batch = rows / steps), and the most rows of one step.</summary>
    public (long Steps, long Rows, long PeakRows) DecodeSteps => (_scheduler.Steps, _scheduler.SteppedRows, _scheduler.PeakRows);

    /// <summary>Tensor work belongs on this worker's thread (dispose scopes are thread-local); anything else is a bug.</summary>
    public void ThrowIfNotCurrent()
    {
        if (Thread.CurrentThread != _thread)
            throw new InvalidOperationException($"tensor work must run on the model thread '{_thread.Name}', not '{Thread.CurrentThread.Name}'");
    }

    /// <summary>Live tensors created on the model thread (DisposeScopeManager statistics read on that thread).</summary>
    public Task<long> LiveTensorsAsync() => RunAsync(() => DisposeScopeManager.Statistics.ThreadTotalLiveCount);

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
