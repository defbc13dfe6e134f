using System.Diagnostics;
using System.Globalization;
using LlavaCot.Model.Layers;

namespace LlavaCot.Runtime;

/// <summary>Turns load progress into lines worth showing: one each time another tenth of the bytes is read, with the ETA.</summary>
public sealed class LoadReporter(Action<string> show)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _tenths;

    public void Report(LoadProgress p)
    {
        var tenths = (int)(10 * p.BytesRead / Math.Max(1, p.TotalBytes));
        if (tenths <= _tenths)
            return;
        _tenths = tenths;
        var eta = TimeSpan.FromSeconds(_clock.Elapsed.TotalSeconds / Math.Max(1, p.BytesRead) * (p.TotalBytes - p.BytesRead));
        var bar = new string('#', 2 * tenths).PadRight(20, '.');
        show(string.Create(CultureInfo.InvariantCulture,
            $"loading [{bar}] {Size(p.BytesRead, p.TotalBytes)}, shard {p.Shard}/{p.Shards}, ETA {eta:hh\\:mm\\:ss}{(p.Weights.Length > 0 ? $", {p.Weights}" : "")}"));
    }

    private static string Size(long read, long total) => total >= 1_000_000_000
        ? string.Create(CultureInfo.InvariantCulture, $"{read / 1e9:F1}/{total / 1e9:F1} GB")
        : string.Create(CultureInfo.InvariantCulture, $"{read / 1e6:F1}/{total / 1e6:F1} MB");
}
