using System.Diagnostics;

namespace LlavaCot.Model.Generation;

/// <summary>
/// What the scheduler's steps ran and how long each part took: vision slices, prompt slices, decode steps (sampling
/// included); how long sliced work waited for its first slice; and the gaps between two decode steps of a running job.
/// Written on the model thread, read from any thread.
/// </summary>
public sealed class StepStatistics
{
    private readonly object _lock = new();
    private long _steps, _peakRows, _decodeRows;

    /// <summary>Seconds of each vision slice (one encoder layer, the projector, or one cross layer's keys and values).</summary>
    public DurationSeries VisionSlices { get; } = new();

    /// <summary>Seconds of each prompt slice (a prefill chunk, a scoring prompt's part, a job's start).</summary>
    public DurationSeries PromptSlices { get; } = new();

    /// <summary>Seconds of each decode step: sampling every running row, one model call.</summary>
    public DurationSeries DecodeSteps { get; } = new();

    /// <summary>Seconds sliced work waited in its lane before its first slice.</summary>
    public DurationSeries QueueWaits { get; } = new();

    /// <summary>Seconds between the ends of two decode steps of one running job.</summary>
    public DurationSeries DecodeGaps { get; } = new();

    /// <summary>
    /// Each step's vision and prompt seconds as a share of its budget (the longest vision slice plus the longest prompt
    /// slice measured before it), for steps that ran any; not seconds, though kept as a series of the same kind.
    /// </summary>
    public DurationSeries BudgetUse { get; } = new();

    public long Steps { get { lock (_lock) return _steps; } }
    public long DecodeRows { get { lock (_lock) return _decodeRows; } }
    public long PeakRows { get { lock (_lock) return _peakRows; } }

    internal void Stepped(int rows)
    {
        lock (_lock)
        {
            _steps++;
            _decodeRows += rows;
            _peakRows = Math.Max(_peakRows, rows);
        }
    }

    internal static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;
}

/// <summary>Durations: their count, sum and maximum, and the most recent ones for percentiles. Thread-safe.</summary>
public sealed class DurationSeries
{
    /// <summary>Recent values kept for percentiles.</summary>
    public const int Kept = 8192;

    private readonly object _lock = new();
    private readonly double[] _recent = new double[Kept];
    private long _count;
    private double _sum, _max;

    public long Count { get { lock (_lock) return _count; } }
    public double Sum { get { lock (_lock) return _sum; } }
    public double Max { get { lock (_lock) return _max; } }

    /// <summary>The values recorded since <paramref name="mark"/> (a former <see cref="Count"/>), at most <see cref="Kept"/>.</summary>
    public IReadOnlyList<double> Since(long mark)
    {
        lock (_lock)
        {
            var list = new List<double>();
            for (var i = Math.Max(mark, _count - Kept); i < _count; i++)
                list.Add(_recent[i % Kept]);
            return list;
        }
    }

    internal void Add(double seconds)
    {
        lock (_lock)
        {
            _recent[_count % Kept] = seconds;
            _count++;
            _sum += seconds;
            _max = Math.Max(_max, seconds);
        }
    }

    internal void AddTicks(long ticks) => Add(StepStatistics.Seconds(ticks));
}
