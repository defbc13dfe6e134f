namespace LlavaCot.Training.Train;

/// <summary>Linear warm-up to the peak rate, then cosine decay to the floor at the last step.</summary>
public static class LearningRate
{
    public static double At(int step, TrainOptions o) => At(step, o.LearningRate, o.MinLearningRate, o.WarmupSteps, o.Steps);

    public static double At(int step, double peak, double floor, int warmup, int steps)
    {
        if (step < warmup)
            return peak * (step + 1) / warmup;
        var progress = steps <= warmup ? 1 : (step - warmup) / (double)(steps - warmup);
        return floor + 0.5 * (peak - floor) * (1 + Math.Cos(Math.PI * Math.Min(1, progress)));
    }
}
