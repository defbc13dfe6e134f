namespace LlavaCot.Server.Hosting;

/// <summary>
/// The bounded queue in front of the model: at most <c>maxRunning</c> searches run, at most <c>queueLength</c> wait;
/// a request that finds both full is refused at once (429) instead of piling up.
/// </summary>
public sealed class Admission(int maxRunning, int queueLength)
{
    private readonly SemaphoreSlim _slots = new(maxRunning, maxRunning);
    private int _admitted;
    private int _running;

    /// <summary>Searches waiting for a slot.</summary>
    public int Waiting => Math.Max(0, Volatile.Read(ref _admitted) - Volatile.Read(ref _running));

    public int Running => Volatile.Read(ref _running);

    public int Capacity => maxRunning + queueLength;

    /// <summary>A place in the queue, or null when the queue is full.</summary>
    public Ticket? TryEnter() => TryEnter(1)?[0];

    /// <summary><paramref name="count"/> places at once (one request's several searches), or none when they do not all fit.</summary>
    public Ticket[]? TryEnter(int count)
    {
        if (Interlocked.Add(ref _admitted, count) > Capacity)
        {
            Interlocked.Add(ref _admitted, -count);
            return null;
        }
        return Enumerable.Range(0, count).Select(_ => new Ticket(this)).ToArray();
    }

    /// <summary>Held from admission until the search is over; disposing it gives the place (and slot) back.</summary>
    public sealed class Ticket(Admission owner) : IDisposable
    {
        private int _state; // 0 queued, 1 running, 2 done

        /// <summary>Waits for a running slot; a cancelled wait leaves the queue.</summary>
        public async Task WaitAsync(CancellationToken ct)
        {
            await owner._slots.WaitAsync(ct);
            if (Interlocked.CompareExchange(ref _state, 1, 0) == 0)
                Interlocked.Increment(ref owner._running);
            else
                owner._slots.Release();
        }

        public void Dispose()
        {
            var previous = Interlocked.Exchange(ref _state, 2);
            if (previous == 2)
                return;
            if (previous == 1)
            {
                Interlocked.Decrement(ref owner._running);
                owner._slots.Release();
            }
            Interlocked.Decrement(ref owner._admitted);
        }
    }
}
