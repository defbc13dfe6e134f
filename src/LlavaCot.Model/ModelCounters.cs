using System.Diagnostics;

namespace LlavaCot.Model;

/// <summary>Work the model has done, for tests (work-saving claims) and metrics. Thread-safe.</summary>
public sealed class ModelCounters
{
    private long _visionRuns;
    private long _prefilledTokens;
    private long _decodeSteps;
    private long _decodedTokens;
    private long _visionTicks;
    private long _prefillTicks;
    private long _decodeTicks;
    private long _sampleTicks;

    /// <summary>Images batches run through the vision tower.</summary>
    public long VisionRuns => Interlocked.Read(ref _visionRuns);

    /// <summary>Tokens processed by prefill passes (summed over the batch).</summary>
    public long PrefilledTokens => Interlocked.Read(ref _prefilledTokens);

    /// <summary>Single-token decode passes (one per step, whatever the batch).</summary>
    public long DecodeSteps => Interlocked.Read(ref _decodeSteps);

    /// <summary>Tokens produced by decode passes (summed over the batch).</summary>
    public long DecodedTokens => Interlocked.Read(ref _decodedTokens);

    /// <summary>Seconds spent in the vision tower and projector, in prefill passes, and in decode passes.</summary>
    public double VisionSeconds => Seconds(ref _visionTicks);
    public double PrefillSeconds => Seconds(ref _prefillTicks);
    public double DecodeSeconds => Seconds(ref _decodeTicks);

    /// <summary>Seconds spent choosing decode rows' next tokens from their logits (top-k, top-p and the draw).</summary>
    public double SampleSeconds => Seconds(ref _sampleTicks);

    /// <summary>The model thread's own seconds: vision, prefill, decode and sampling together.</summary>
    public double TotalSeconds => VisionSeconds + PrefillSeconds + DecodeSeconds + SampleSeconds;

    /// <summary>A step of a vision pass (or a whole one) took the time since <paramref name="startTimestamp"/>.</summary>
    internal void VisionStep(long startTimestamp, bool finished)
    {
        if (finished)
            Interlocked.Increment(ref _visionRuns);
        Interlocked.Add(ref _visionTicks, Stopwatch.GetTimestamp() - startTimestamp);
    }

    internal void Prefilled(long tokens, long startTimestamp)
    {
        Interlocked.Add(ref _prefilledTokens, tokens);
        Interlocked.Add(ref _prefillTicks, Stopwatch.GetTimestamp() - startTimestamp);
    }

    internal void Decoded(long sequences, long startTimestamp)
    {
        Interlocked.Increment(ref _decodeSteps);
        Interlocked.Add(ref _decodedTokens, sequences);
        Interlocked.Add(ref _decodeTicks, Stopwatch.GetTimestamp() - startTimestamp);
    }

    internal void Sampled(long startTimestamp) => Interlocked.Add(ref _sampleTicks, Stopwatch.GetTimestamp() - startTimestamp);

    private static double Seconds(ref long ticks) => (double)Interlocked.Read(ref ticks) / Stopwatch.Frequency;
}
