using System.Text;

namespace LlavaCot.Server.Tests;

/// <summary>One Server-Sent Events frame as it arrived.</summary>
public sealed record SseFrame(string? Event, string Data, string? Id);

/// <summary>Reads SSE frames from a response stream one at a time, as a browser's EventSource would.</summary>
public sealed class SseReader(Stream stream) : IDisposable
{
    private readonly StreamReader _reader = new(stream, Encoding.UTF8);

    /// <summary>Every line read, to check the framing itself.</summary>
    public List<string> Lines { get; } = [];

    public async Task<SseFrame?> NextAsync(CancellationToken ct = default)
    {
        string? type = null, id = null;
        var data = new List<string>();
        while (await _reader.ReadLineAsync(ct) is { } line)
        {
            Lines.Add(line);
            if (line.Length == 0)
            {
                if (data.Count > 0 || type is not null)
                    return new SseFrame(type, string.Join("\n", data), id);
                continue;
            }
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "event": type = value; break;
                case "data": data.Add(value); break;
                case "id": id = value; break;
                default: throw new InvalidDataException($"unexpected SSE line '{line}'");
            }
        }
        return data.Count > 0 ? new SseFrame(type, string.Join("\n", data), id) : null;
    }

    public async Task<List<SseFrame>> RestAsync(CancellationToken ct = default)
    {
        var frames = new List<SseFrame>();
        while (await NextAsync(ct) is { } frame)
            frames.Add(frame);
        return frames;
    }

    public void Dispose() => _reader.Dispose();
}
