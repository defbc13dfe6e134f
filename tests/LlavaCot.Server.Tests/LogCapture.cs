using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Events;

namespace LlavaCot.Server.Tests;

/// <summary>Keeps the server's log events so a test can read what was logged.</summary>
public sealed class LogCapture : ILogEventSink
{
    private readonly ConcurrentQueue<LogEvent> _events = new();

    public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

    public IReadOnlyList<LogEvent> Events => _events.ToList();

    /// <summary>Rendered messages with their exceptions (stack included), one per event.</summary>
    public IEnumerable<string> Lines => _events.Select(e => $"{e.Level} {e.RenderMessage()} {e.Exception}");
}
