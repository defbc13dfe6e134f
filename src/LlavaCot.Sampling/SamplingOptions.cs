namespace LlavaCot.Sampling;

/// <summary>
/// Sampling settings of every generate call, judge calls included. Defaults are LLaVA-CoT's (temperature 0.6,
/// top-p 0.9) plus HF's default top-k 50. Temperature 0 means greedy; top-k 0 and top-p 1 disable those steps.
/// </summary>
public sealed record SamplingOptions(double Temperature = 0.6, int TopK = 50, double TopP = 0.9)
{
    public static SamplingOptions Default { get; } = new();

    public static SamplingOptions Greedy { get; } = new(0, 0, 1);

    public bool IsGreedy => Temperature == 0;
}
