using System.Diagnostics;
using System.Globalization;

namespace LlavaCot.Cli;

/// <summary>
/// The progress of a long command. On a terminal, a bar redrawn in place with carriage returns. Elsewhere (a log file, a
/// pipe) every redraw would stay, so it writes plain lines instead: one each time another tenth of the work is done or
/// 30 s have passed since the last, whichever comes first, and one when the work completes.
/// </summary>
internal sealed class ProgressBar
{
    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(30);
    private const int BarWidth = 20;

    private readonly TextWriter _output;
    private readonly double _total;
    private readonly string _unit;
    private readonly Func<TimeSpan> _clock;
    private readonly TimeSpan _started;
    // Eval reports from several workers at once.
    private readonly Lock _lock = new();
    private TimeSpan _lastLine;
    private int _lastTenth;
    private bool _finished;

    /// <param name="total">The amount of work, in <paramref name="unit"/>s.</param>
    /// <param name="unit">What the work is counted in, for the rate ("questions" gives "questions/s").</param>
    /// <param name="clock">Time since any fixed point; a stopwatch unless a test gives its own.</param>
    public ProgressBar(TextWriter output, bool terminal, double total, string unit, Func<TimeSpan>? clock = null)
    {
        _output = output;
        Terminal = terminal;
        _total = total;
        _unit = unit;
        if (clock is null)
        {
            var stopwatch = Stopwatch.StartNew();
            clock = () => stopwatch.Elapsed;
        }
        _clock = clock;
        _started = _lastLine = clock();
    }

    /// <summary>Whether the output is an interactive console (not redirected), the one place a redrawn bar reads well.</summary>
    public static bool IsTerminal(TextWriter output) => ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;

    public bool Terminal { get; }

    /// <summary>Written before the bar or line, e.g. eval's mode.</summary>
    public string Label { get; init; } = "";

    /// <summary>The amount already done when this run began (a resumed training), left out of the rate and the ETA.</summary>
    public double Start
    {
        get;
        init
        {
            field = value;
            _lastTenth = Tenth(value);
        }
    }

    /// <summary>Decimals of the count; a measure such as GB needs some, a count of questions none.</summary>
    public int Decimals { get; init; }

    /// <summary>Whether the count reads "0.4/1.2 GB" (a measure) rather than "30/300" (the unit then only names the rate).</summary>
    public bool UnitAfterCount { get; init; }

    /// <summary>
    /// Reports <paramref name="done"/> of the total. <paramref name="detail"/> follows the count in both modes.
    /// <paramref name="keep"/> keeps this update: on a terminal the bar continues on a new line, in a log a line is written.
    /// <paramref name="text"/>, when given, is drawn on a terminal instead of the bar.
    /// </summary>
    public void Update(double done, string detail = "", bool keep = false, string? text = null)
    {
        lock (_lock)
        {
            // Workers can report out of order; once complete, a late report would draw a bar under the final one.
            if (_finished)
                return;
            var now = _clock();
            _finished = done >= _total;
            if (Terminal)
            {
                _output.Write("\r" + (text ?? Bar(done, detail, now)));
                if (_finished || keep)
                    _output.WriteLine();
            }
            else if (_finished || keep || Tenth(done) > _lastTenth || now - _lastLine >= LogInterval)
            {
                _output.WriteLine(Line(done, detail, now));
                _lastTenth = Tenth(done);
                _lastLine = now;
            }
            _output.Flush();
        }
    }

    private int Tenth(double done) => _total <= 0 ? 10 : (int)Math.Floor(10 * Math.Min(done / _total, 1));

    private string Bar(double done, string detail, TimeSpan now)
    {
        var filled = _total <= 0 ? BarWidth : (int)(BarWidth * Math.Clamp(done / _total, 0, 1));
        var bar = new string('#', filled).PadRight(BarWidth, '.');
        return $"{Label}[{bar}] {Count(done)}{Detail(detail)}  ETA {Clock(Eta(done, now))}";
    }

    private string Line(double done, string detail, TimeSpan now)
    {
        var seconds = (now - _started).TotalSeconds;
        var rate = (done - Start) / Math.Max(seconds, 1e-3);
        var format = rate >= 100 ? "F0" : rate >= 10 ? "F1" : "F2";
        var end = _finished ? $"done in {Clock(now - _started)}" : $"ETA {Clock(Eta(done, now))}";
        return $"{Label}{Count(done)}{Detail(detail)}  {rate.ToString(format, CultureInfo.InvariantCulture)} {_unit}/s  {end}";
    }

    private string Count(double done)
    {
        var format = "F" + Decimals.ToString(CultureInfo.InvariantCulture);
        var count = $"{done.ToString(format, CultureInfo.InvariantCulture)}/{_total.ToString(format, CultureInfo.InvariantCulture)}";
        return UnitAfterCount ? $"{count} {_unit}" : count;
    }

    private static string Detail(string detail) => detail.Length == 0 ? "" : "  " + detail;

    /// <summary>The time left at the rate so far; null before any progress to measure.</summary>
    private TimeSpan? Eta(double done, TimeSpan now)
    {
        var elapsed = (now - _started).TotalSeconds;
        var left = Math.Max(_total - done, 0);
        if (left == 0)
            return TimeSpan.Zero;
        var seconds = elapsed / (done - Start) * left;
        return done > Start && double.IsFinite(seconds) && seconds < 1e10 ? TimeSpan.FromSeconds(seconds) : null;
    }

    /// <summary>hh:mm:ss, with the hours going past 24 rather than wrapping.</summary>
    internal static string Clock(TimeSpan? t) => t is { } v
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)v.TotalHours:00}:{v.Minutes:00}:{v.Seconds:00}")
        : "--:--:--";
}
