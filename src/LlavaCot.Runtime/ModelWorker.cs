using System.Collections.Concurrent;
using TorchSharp;

namespace LlavaCot.Runtime;

/// <summary>
/// The one thread that touches the model. Torch dispose scopes and inference mode are thread-local, so all model
/// work is queued here and runs in order, inside inference mode; callers await the result.
/// </summary>
public sealed class ModelWorker : IDisposable
{
    private readonly BlockingCollection<Action> _queue = new();
    private readonly Thread _thread;
    private int _pending;
    private int _disposed;

    public ModelWorker(string name = "llavacot-model")
    {
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
        foreach (var item in _queue.GetConsumingEnumerable())
            item();
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
