namespace LlavaCot.Training.Eval;

/// <summary>95 % intervals for accuracies and paired differences of accuracies.</summary>
public static class Interval
{
    private const double Z = 1.959963984540054;

    /// <summary>The Wilson score interval of <paramref name="successes"/> out of <paramref name="n"/>.</summary>
    public static (double Low, double High) Wilson(int successes, int n) => Wilson((double)successes, n);

    /// <summary>The Wilson score interval of a share of <paramref name="n"/> trials, where a trial may count half (a tie).</summary>
    public static (double Low, double High) Wilson(double successes, int n)
    {
        if (n == 0)
            return (0, 1);
        var p = successes / (double)n;
        var denominator = 1 + Z * Z / n;
        var centre = (p + Z * Z / (2 * n)) / denominator;
        var half = Z * Math.Sqrt(p * (1 - p) / n + Z * Z / (4.0 * n * n)) / denominator;
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    /// <summary>
    /// The mean of per-question differences (each -1, 0 or 1: the same questions answered by two methods) with a
    /// normal-approximation 95 % interval on it.
    /// </summary>
    public static (double Mean, double Low, double High) PairedDifference(IReadOnlyList<int> differences)
    {
        var n = differences.Count;
        if (n == 0)
            return (0, -1, 1);
        var mean = differences.Average();
        var variance = n > 1 ? differences.Sum(d => (d - mean) * (d - mean)) / (n - 1) : 0;
        var half = Z * Math.Sqrt(variance / n);
        return (mean, mean - half, mean + half);
    }
}
