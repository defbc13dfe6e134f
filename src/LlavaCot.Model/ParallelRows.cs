namespace LlavaCot.Model;

/// <summary>Runs a row loop in a few contiguous bands, one per core: per-row tasks would cost more than the rows.</summary>
internal static class ParallelRows
{
    // Below this much work (rows × bytes per row) a second thread costs more than it saves.
    private const long MinParallelWork = 256 * 1024;

    public static void For(int rows, long workPerRow, Action<int, int> band)
    {
        var bands = Math.Min(Environment.ProcessorCount, rows);
        if (bands <= 1 || rows * workPerRow < MinParallelWork)
        {
            band(0, rows);
            return;
        }
        Parallel.For(0, bands, b => band((int)((long)rows * b / bands), (int)((long)rows * (b + 1) / bands)));
    }
}
