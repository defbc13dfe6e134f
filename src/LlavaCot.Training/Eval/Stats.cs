namespace LlavaCot.Training.Eval;

/// <summary>Summaries of repeated timings.</summary>
public static class Stats
{
    /// <summary>The middle value (the mean of the two middle ones for an even count): a slow outlier run does not move it.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToList();
        var mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
