namespace LlavaCot.Training.Train;

/// <summary>Linear warm-up to the peak rate, then cosine decay to the floor at the last step.</summary>
public static class LearningRate
{
    public static double At(int step, TrainOptions o)
    {
        if (step < o.WarmupSteps)
            return o.LearningRate * (step + 1) / o.WarmupSteps;
        var progress = o.Steps <= o.WarmupSteps ? 1 : (step - o.WarmupSteps) / (double)(o.Steps - o.WarmupSteps);
        return o.MinLearningRate + 0.5 * (o.LearningRate - o.MinLearningRate) * (1 + Math.Cos(Math.PI * Math.Min(1, progress)));
    }
}
