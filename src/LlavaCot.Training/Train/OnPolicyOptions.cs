namespace LlavaCot.Training.Train;

/// <summary>
/// The on-policy phase (<see cref="OnPolicyPhase"/>): rounds of sampling the model's own candidates on fresh scenes,
/// then training on them, with a fresh AdamW over the whole phase (warm-up, cosine decay) and the image features frozen:
/// trained with the judge and verifier examples and without the base phase's perception probe, the vision tower
/// forgets how to caption (a first run's captions fell from 94 % to 59 % right in one round).
/// </summary>
public sealed record OnPolicyOptions
{
    public int Rounds { get; init; } = 4;

    /// <summary>Training steps after each round's sampling: the samples are refreshed this often.</summary>
    public int StepsPerRound { get; init; } = 200;

    /// <summary>Fresh training questions searched per round (half stage_beam, half best_of_n).</summary>
    public int Questions { get; init; } = 200;

    /// <summary>Candidates per stage (stage_beam) or whole answers (best_of_n).</summary>
    public int N { get; init; } = 4;

    /// <summary>New-token limit of each sampled stage or answer (the evaluation's).</summary>
    public int MaxNewTokens { get; init; } = 512;

    public double LearningRate { get; init; } = 2e-4;
    public double MinLearningRate { get; init; } = 2e-5;
    public int WarmupSteps { get; init; } = 20;

    /// <summary>Model instances that sample concurrently (each on its share of the cores).</summary>
    public int Workers { get; init; } = 2;

    public OnPolicyMix Mix { get; init; } = new();
}

/// <summary>
/// The share of on-policy steps spent on each kind of batch: answers (fresh reference answers), mistakes (the reference
/// answers of questions the searches got wrong), judges and verdicts (from the model's own candidates), synthetic (the
/// base phase's judge examples: summary and sentence judges have no on-policy label).
/// </summary>
public sealed record OnPolicyMix(double Answers = 0.4, double Mistakes = 0.1, double Judges = 0.25, double Verdicts = 0.2, double Synthetic = 0.05)
{
    public string Pick(double u) =>
        Shares.Pick(u, ("answer", Answers), ("mistake", Mistakes), ("judge", Judges), ("verdict", Verdicts), ("synthetic", Synthetic));
}
