namespace LlavaCot.Model.Generation;

/// <summary>HF's sampling warpers in their order: temperature, then top-k, then top-p. Temperature 0 is greedy.</summary>
public sealed record SamplerSettings(double Temperature, int TopK, double TopP)
{
    public static SamplerSettings Greedy { get; } = new(0, 0, 1);

    public bool IsGreedy => Temperature == 0;
}
