namespace LlavaCot.Training.Train;

/// <summary>Everything one training run depends on; the same options reproduce the same model.</summary>
public sealed record TrainOptions
{
    /// <summary>Where the model folder is written (and the checkpoint kept while training).</summary>
    public required string OutputDirectory { get; init; }

    public ulong Seed { get; init; } = 1;
    public int Steps { get; init; } = 3000;
    public int BatchSize { get; init; } = 16;
    public double LearningRate { get; init; } = 2e-3;
    public double MinLearningRate { get; init; } = 1e-4;
    public int WarmupSteps { get; init; } = 100;
    public double WeightDecay { get; init; } = 0.01;
    public double ClipNorm { get; init; } = 1.0;

    /// <summary>BPE vocabulary (the 256 bytes included; the Llama 3 specials and the image token come after).</summary>
    public int VocabularySize { get; init; } = 4096;

    /// <summary>Samples the tokenizer is trained on.</summary>
    public int TokenizerSamples { get; init; } = 4000;

    /// <summary>Steps between checkpoints; 0 keeps none.</summary>
    public int CheckpointEvery { get; init; } = 200;

    public ExampleMix Mix { get; init; } = new();

    /// <summary>The vision tower and the projector are not trained (the on-policy phase keeps the base's image features).</summary>
    public bool FreezeVision { get; init; }

    /// <summary>Weight of the perception probe's loss on image batches (0: captions alone teach perception).</summary>
    public double PerceptionWeight { get; init; } = 1.0;

    public DemoArchitecture Architecture { get; init; } = new();

    /// <summary>The phase that follows the steps above: the model learns from its own candidates (0 rounds: none).</summary>
    public OnPolicyOptions OnPolicy { get; init; } = new();

    /// <summary>The date text-only training prompts carry (pinned: the same every run).</summary>
    public DateOnly Date { get; init; } = new(2024, 11, 26);

    public int Threads { get; init; } = Environment.ProcessorCount;
}
