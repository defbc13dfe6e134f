namespace LlavaCot.Reasoning.Strategies;

/// <summary>One way of answering (a mode); it emits its events through the context and returns the result.</summary>
public interface IReasoningStrategy
{
    Task<ReasonResult> RunAsync(SearchContext context);

    public static IReasoningStrategy For(ReasoningMode mode) => mode switch
    {
        ReasoningMode.StageBeam => new StageBeamSearch(),
        ReasoningMode.BestOfN => new BestOfN(),
        ReasoningMode.SentenceBeam => new SentenceBeamSearch(),
        ReasoningMode.Single => new SinglePass(),
        ReasoningMode.TwoStage => new TwoStage(),
        ReasoningMode.Swires => new Swires(),
        ReasoningMode.SelfConsistency => new SelfConsistency(),
        ReasoningMode.WeightedBestOfN => new WeightedBestOfN(),
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };
}
