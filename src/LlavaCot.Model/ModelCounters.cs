namespace LlavaCot.Model;

/// <summary>Work the model has done, for tests (work-saving claims) and metrics. Thread-safe.</summary>
public sealed class ModelCounters
{
    private long _visionRuns;
    private long _prefilledTokens;
    private long _decodeSteps;
    private long _decodedTokens;

    /// <summary>Images batches run through the vision tower.</summary>
    public long VisionRuns => Interlocked.Read(ref _visionRuns);

    /// <summary>Tokens processed by prefill passes (summed over the batch).</summary>
    public long PrefilledTokens => Interlocked.Read(ref _prefilledTokens);

    /// <summary>Single-token decode passes (one per step, whatever the batch).</summary>
    public long DecodeSteps => Interlocked.Read(ref _decodeSteps);

    /// <summary>Tokens produced by decode passes (summed over the batch).</summary>
    public long DecodedTokens => Interlocked.Read(ref _decodedTokens);

    internal void VisionRun() => Interlocked.Increment(ref _visionRuns);

    internal void Prefilled(long tokens) => Interlocked.Add(ref _prefilledTokens, tokens);

    internal void Decoded(long sequences)
    {
        Interlocked.Increment(ref _decodeSteps);
        Interlocked.Add(ref _decodedTokens, sequences);
    }
}
