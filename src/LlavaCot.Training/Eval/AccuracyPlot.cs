using System.Globalization;
using System.Reflection;

namespace LlavaCot.Training.Eval;

/// <summary>
/// A PNG of accuracy (95 % intervals) against the model's seconds per question: one line per mode and scorer over N,
/// each point marked with its N, and the rows without N (single, greedy, two-stage, SWIRES) as points of their own —
/// SWIRES's scaling figure for this task. A mode's N=1 row, where no scorer has anything to choose, starts each of its
/// scorers' lines. Seconds are on a log scale. Skia here has no fontconfig, so the plot draws with DejaVu Sans shipped
/// in this assembly rather than whatever fonts the machine has (often none).
/// </summary>
public static class AccuracyPlot
{
    private const string FontName = "DejaVu Sans";
    private static readonly Lazy<string> FontFile = new(ExtractFont);

    /// <summary>The plot's series: a name and its rows in order (a line over N, or a single point).</summary>
    public static IReadOnlyList<(string Name, IReadOnlyList<ModeResult> Points)> Series(IReadOnlyList<ModeResult> results)
    {
        var series = new List<(string, IReadOnlyList<ModeResult>)>();
        var shared = results.Where(r => r.Scales && r.Scorer == "none").ToList();
        foreach (var line in results.Where(r => r.Scales && r.Scorer != "none").GroupBy(r => (r.Mode, r.Scorer)))
        {
            var start = shared.Where(r => r.Mode == line.Key.Mode);
            series.Add(($"{line.Key.Mode} {line.Key.Scorer}", start.Concat(line).OrderBy(r => r.N).ToList()));
        }
        // A mode's N=1 row with no scorer line to start stands alone.
        foreach (var r in results.Where(r => !r.Scales || (r.Scorer == "none" && !results.Any(o => o.Scales && o.Mode == r.Mode && o.Scorer != "none"))))
            series.Add((r.Label, [r]));
        return series;
    }

    public static void Save(IReadOnlyList<ModeResult> results, string path, string title)
    {
        ScottPlot.Fonts.AddFontFile(FontName, FontFile.Value);
        var plot = new ScottPlot.Plot();
        plot.Font.Set(FontName);
        var palette = new ScottPlot.Palettes.Category10();
        var index = 0;
        // Seconds on a log scale: positions are log10 of the seconds, the ticks say the seconds.
        static double X(ModeResult r) => Math.Log10(Math.Max(1e-4, r.SecondsPerQuestion));
        foreach (var (name, points) in Series(results))
        {
            var colour = palette.GetColor(index++);
            var xs = points.Select(X).ToArray();
            var ys = points.Select(p => 100 * p.Accuracy).ToArray();
            var line = plot.Add.Scatter(xs, ys, colour);
            line.LegendText = name;
            line.LineWidth = points.Count > 1 ? 2 : 0;
            line.MarkerSize = 8;
            // The Wilson interval is not symmetric: each side its own length.
            plot.Add.Plottable(new ScottPlot.Plottables.ErrorBar(xs, ys, null, null,
                points.Select(p => 100 * (p.CiHigh - p.Accuracy)).ToArray(), points.Select(p => 100 * (p.Accuracy - p.CiLow)).ToArray())
            {
                Color = colour,
            });
            if (points.Count > 1)
            {
                for (var i = 0; i < points.Count; i++)
                {
                    var label = plot.Add.Text($"N={points[i].N}", xs[i], ys[i]);
                    label.LabelFontName = FontName;
                    label.LabelFontSize = 11;
                    label.LabelFontColor = colour;
                    label.LabelAlignment = ScottPlot.Alignment.LowerLeft;
                    label.OffsetX = 5;
                    label.OffsetY = -5;
                }
            }
        }
        plot.Title(title);
        plot.XLabel("model seconds per question (log scale)");
        plot.YLabel("accuracy (%), 95 % interval");
        // From a little below the lowest interval to room above 100 % for the N labels.
        plot.Axes.SetLimitsY(Math.Max(0, Math.Floor((100 * results.Min(r => r.CiLow) - 5) / 10) * 10), 106);
        var seconds = results.Select(r => r.SecondsPerQuestion).Where(s => s > 0).DefaultIfEmpty(1).ToList();
        var (low, high) = (Math.Log10(seconds.Min()) - 0.15, Math.Log10(seconds.Max()) + 0.25);
        plot.Axes.SetLimitsX(low, high);
        var ticks = Ticks(Math.Pow(10, low), Math.Pow(10, high));
        plot.Axes.Bottom.SetTicks(ticks.Select(Math.Log10).ToArray(), ticks.Select(t => t.ToString("G3", CultureInfo.InvariantCulture)).ToArray());
        plot.ShowLegend(ScottPlot.Edge.Right);
        plot.SavePng(path, 1100, 600);
    }

    /// <summary>Round seconds (1, 2, 5 times a power of ten) from <paramref name="low"/> to <paramref name="high"/>.</summary>
    public static IReadOnlyList<double> Ticks(double low, double high)
    {
        var ticks = new List<double>();
        for (var decade = Math.Floor(Math.Log10(low)); decade <= Math.Ceiling(Math.Log10(high)); decade++)
        {
            foreach (var step in new[] { 1.0, 2.0, 5.0 })
            {
                var t = step * Math.Pow(10, decade);
                if (t >= low && t <= high)
                    ticks.Add(t);
            }
        }
        // A range narrower than the steps: its ends and middle.
        return ticks.Count >= 2 ? ticks : [low, Math.Sqrt(low * high), high];
    }

    private static string ExtractFont()
    {
        var file = Path.Combine(Path.GetTempPath(), $"llavacot-dejavu-{Environment.ProcessId}.ttf");
        using var resource = Assembly.GetExecutingAssembly().GetManifestResourceStream("DejaVuSans.ttf")
                             ?? throw new InvalidOperationException("DejaVuSans.ttf is not embedded");
        using var target = File.Create(file);
        resource.CopyTo(target);
        return file;
    }
}
