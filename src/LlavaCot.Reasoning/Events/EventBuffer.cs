using System.Runtime.CompilerServices;

namespace LlavaCot.Reasoning.Events;

/// <summary>
/// The events of one run between the search and its reader, bounded. Token deltas never wait (they come from the
/// model thread, which other requests share): a delta of a candidate whose previous delta is still unread is merged
/// into it. Every other event waits for room once <see cref="Capacity"/> of them are unread, so a slow reader slows
/// its own search instead of growing memory, and no stage, judge or final event is ever dropped.
/// </summary>
public sealed class EventBuffer(int capacity = EventBuffer.DefaultCapacity)
{
    public const int DefaultCapacity = 64;

    private readonly LinkedList<ReasonEvent> _pending = new();
    private readonly Dictionary<(string Stage, int Index, int Candidate), LinkedListNode<ReasonEvent>> _openDeltas = [];
    private readonly SemaphoreSlim _room = new(capacity, capacity);
    private readonly SemaphoreSlim _ready = new(0);
    private bool _completed;
    private int _waitingWriters;

    /// <summary>Writers waiting for the reader to make room (for tests of the bound).</summary>
    internal int WaitingWriters => Volatile.Read(ref _waitingWriters);

    public int Capacity => capacity;

    /// <summary>Events written and not yet read (deltas merged into one count once).</summary>
    public int Pending
    {
        get
        {
            lock (_pending)
                return _pending.Count;
        }
    }

    /// <summary>Adds a token delta without waiting; merges it into its candidate's unread delta if there is one.</summary>
    public void WriteDelta(TokenDelta delta)
    {
        lock (_pending)
        {
            if (_completed)
                return;
            var key = (delta.Stage, delta.Index, delta.Candidate);
            if (_openDeltas.TryGetValue(key, out var node))
            {
                node.Value = delta with { Text = ((TokenDelta)node.Value).Text + delta.Text };
                return;
            }
            _openDeltas[key] = _pending.AddLast(delta);
        }
        _ready.Release();
    }

    /// <summary>Adds any other event, waiting while the reader is <see cref="Capacity"/> events behind.</summary>
    public async Task WriteAsync(ReasonEvent e, CancellationToken ct)
    {
        if (e is TokenDelta delta)
        {
            WriteDelta(delta);
            return;
        }
        if (!_room.Wait(0))
        {
            Interlocked.Increment(ref _waitingWriters);
            try
            {
                await _room.WaitAsync(ct);
            }
            finally
            {
                Interlocked.Decrement(ref _waitingWriters);
            }
        }
        lock (_pending)
        {
            if (_completed)
            {
                _room.Release();
                return;
            }
            // Later deltas go after this event, never into one before it.
            _openDeltas.Clear();
            _pending.AddLast(e);
        }
        _ready.Release();
    }

    /// <summary>No more events; the reader ends after the pending ones.</summary>
    public void Complete()
    {
        lock (_pending)
            _completed = true;
        _ready.Release();
    }

    public async IAsyncEnumerable<ReasonEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken ct)
    {
        while (true)
        {
            await _ready.WaitAsync(ct);
            ReasonEvent? next;
            lock (_pending)
            {
                if (_pending.First is not { } first)
                {
                    if (_completed)
                        yield break;
                    continue;
                }
                _pending.RemoveFirst();
                next = first.Value;
                if (next is TokenDelta d)
                    _openDeltas.Remove((d.Stage, d.Index, d.Candidate));
                else
                    _room.Release();
            }
            yield return next;
        }
    }
}
