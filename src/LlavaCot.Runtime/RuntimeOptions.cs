using LlavaCot.Model.Inputs;
using LlavaCot.Model.Layers;
using LlavaCot.Reasoning;

namespace LlavaCot.Runtime;

/// <summary>Where the model comes from and how it runs.</summary>
public sealed record RuntimeOptions
{
    /// <summary>A Hugging Face Mllama folder (config, weights, tokenizer, preprocessor config).</summary>
    public required string ModelDirectory { get; init; }

    /// <summary>cpu, cuda, cuda:N, or auto (cuda when available).</summary>
    public string Device { get; init; } = "auto";

    /// <summary>auto (see <see cref="DTypePolicy"/>), float32 or bfloat16 (also fp32, bf16).</summary>
    public string DType { get; init; } = "auto";

    /// <summary>Whether the CPU computes bf16 natively: auto (from its flags), native, or emulated (forces the fp32 path of auto).</summary>
    public string Bf16Support { get; init; } = "auto";

    /// <summary>
    /// none, int8 or int4: the text decoder's and projector's linear weights quantized while loading. int8: per output
    /// channel, decode reads half the bytes of bf16. int4: groups of 32 with fp16 scales, the output head int8. A folder
    /// written by <c>llavacot quantize</c> loads as it was written, whatever this says.
    /// </summary>
    public string Quantize { get; init; } = "none";

    public Quantization Quantization => ParseQuantization(Quantize);

    /// <summary>A <see cref="Quantize"/> value; throws naming the value when it is none of none, int8, int4.</summary>
    public static Quantization ParseQuantization(string quantize) => quantize.Trim().ToLowerInvariant() switch
    {
        "none" or "" => Quantization.None,
        "int8" => Quantization.Int8,
        "int4" => Quantization.Int4,
        _ => throw new ArgumentException($"quantize '{quantize}' is not one of none, int8, int4"),
    };

    /// <summary>A weights file inside the folder to use instead of the default (e.g. model.bf16.safetensors).</summary>
    public string? WeightsFile { get; init; }

    public ImageLimits ImageLimits { get; init; } = ImageLimits.Default;

    /// <summary>
    /// The shared prefix cache's budget in bytes: keys and values of recent prompts (searches' stage chains, judge and
    /// pre-check prompts), which later prompts of any request reuse where they share a prefix (the 11B in bf16: ~130 KB
    /// per token). Null: an eighth of the memory available once the model is loaded, at most
    /// <see cref="DefaultPrefixCacheBytes"/>; 0 keeps nothing between prompts.
    /// </summary>
    public long? PrefixCacheBytes { get; init; }

    public const long DefaultPrefixCacheBytes = 256L * 1024 * 1024;

    /// <summary>The prefix cache's budget in bytes, given the memory available after loading (null: unknown).</summary>
    public long PrefixCacheBudget(long? availableBytes) =>
        PrefixCacheBytes ?? (availableBytes is { } free ? Math.Min(DefaultPrefixCacheBytes, free / 8) : DefaultPrefixCacheBytes);

    /// <summary>
    /// The shared image cache's budget in bytes (features of recent images, so a second question about one skips the
    /// vision tower; the 11B's are ~210 MB per image in bf16). Null: a quarter of the memory available once the model
    /// is loaded, at most <see cref="DefaultImageCacheBytes"/>; 0 turns the cache off.
    /// </summary>
    public long? ImageCacheBytes { get; init; }

    public const long DefaultImageCacheBytes = 512L * 1024 * 1024;

    /// <summary>The image cache's budget in bytes, given the memory available after loading (null: unknown).</summary>
    public long ImageCacheBudget(long? availableBytes) =>
        ImageCacheBytes ?? (availableBytes is { } free ? Math.Min(DefaultImageCacheBytes, free / 4) : DefaultImageCacheBytes);

    /// <summary>
    /// Sequences one decode step runs, every request's together (a stage's candidates, judge calls, pre-checks);
    /// more wait for the next step.
    /// </summary>
    public int MaxBatchRows { get; init; } = ModelWorker.DefaultMaxBatchRows;

    /// <summary>
    /// Prompt tokens a prefill chunk runs between two decode steps (chunk ends are multiples of it counted from the
    /// prompt's start); 0 prefills each prompt whole.
    /// </summary>
    public int PrefillChunkTokens { get; init; } = DefaultPrefillChunkTokens;

    public const int DefaultPrefillChunkTokens = 128;

    /// <summary>The date text-only prompts carry when a request names none; null: today.</summary>
    public DateOnly? Date { get; init; }

    /// <summary>The search's server-wide settings (judge token limit, request limits).</summary>
    public ReasonerSettings Reasoning { get; init; } = new();

    /// <summary>The machine's CPU flags and free memory; tests replace it.</summary>
    public Func<HostFacts> Host { get; init; } = HostFacts.Read;

    /// <summary>Told after each tensor read while the weights load (a progress bar, a log line).</summary>
    public Action<Model.Layers.LoadProgress>? LoadProgress { get; init; }
}
