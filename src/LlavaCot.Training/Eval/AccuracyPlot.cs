using System.Reflection;

namespace LlavaCot.Training.Eval;

/// <summary>
/// A PNG of accuracy against N per mode, with 95 % intervals. Skia here has no fontconfig, so the plot draws with
/// DejaVu Sans shipped in this assembly rather than whatever fonts the machine has (often none).
/// </summary>
public static class AccuracyPlot
{
    private const string FontName = "DejaVu Sans";
    private static readonly Lazy<string> FontFile = new(ExtractFont);

    public static void Save(IReadOnlyList<ModeResult> results, string path, string title)
    {
        ScottPlot.Fonts.AddFontFile(FontName, FontFile.Value);
        var plot = new ScottPlot.Plot();
        plot.Font.Set(FontName);
        var palette = new ScottPlot.Palettes.Category10();
        var series = 0;
        foreach (var group in results.GroupBy(r => r.Label.Contains('(') ? r.Label : r.Mode))
        {
            var points = group.OrderBy(r => r.N).ToList();
            var colour = palette.GetColor(series++);
            var line = plot.Add.Scatter(points.Select(p => (double)p.N).ToArray(), points.Select(p => 100 * p.Accuracy).ToArray(), colour);
            line.LegendText = group.Key;
            line.LineWidth = 2;
            line.MarkerSize = 8;
            // The Wilson interval is not symmetric: each side its own length.
            var bars = new ScottPlot.Plottables.ErrorBar(points.Select(p => (double)p.N).ToArray(), points.Select(p => 100 * p.Accuracy).ToArray(),
                null, null, points.Select(p => 100 * (p.CiHigh - p.Accuracy)).ToArray(), points.Select(p => 100 * (p.Accuracy - p.CiLow)).ToArray())
            {
                Color = colour,
            };
            plot.Add.Plottable(bars);
        }
        plot.Title(title);
        plot.XLabel("candidates per step (N)");
        plot.YLabel("accuracy (%), 95 % interval");
        plot.Axes.SetLimitsY(0, 100);
        var ns = results.Select(r => r.N).Distinct().Order().ToList();
        plot.Axes.SetLimitsX(ns.Min() - 0.5, ns.Max() + 0.5);
        plot.Axes.Bottom.SetTicks(ns.Select(n => (double)n).ToArray(), ns.Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        plot.SavePng(path, 900, 560);
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
