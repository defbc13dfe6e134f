using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Reasoning;
using LlavaCot.Runtime;
using Microsoft.Extensions.Options;

namespace LlavaCot.Server.Hosting;

/// <summary>The <c>LlavaCot</c> configuration section (appsettings.json, LlavaCot__X environment variables, --LlavaCot:X or the short switches).</summary>
public sealed class ServerOptions
{
    public const string Section = "LlavaCot";

    /// <summary>A Hugging Face Mllama folder; empty serves the bundled demo model (<c>models/demo</c> beside the server).</summary>
    public string? ModelDirectory { get; set; }

    /// <summary>cpu, cuda, cuda:N or auto.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>auto (the default: see the README), float32 or bfloat16.</summary>
    public string DType { get; set; } = "auto";

    /// <summary>Whether the CPU computes bf16 natively: auto (from /proc/cpuinfo), native, or emulated (forces auto's no-bf16 path).</summary>
    public string Bf16Support { get; set; } = "auto";

    /// <summary>A weights file inside the model folder to load instead of the default one.</summary>
    public string? WeightsFile { get; set; }

    /// <summary>none, int8 or int4: the text decoder's and projector's linear weights quantized while loading.</summary>
    public string Quantize { get; set; } = "none";

    /// <summary>
    /// Searches that run at once (their sequences share every decode step); the rest wait in the queue. Two, so the
    /// 11B's per-search caches (up to ~1 GB each in bf16) still fit beside its 21.3 GB of weights on a 24 GB machine.
    /// </summary>
    public int MaxConcurrentSearches { get; set; } = 2;

    /// <summary>
    /// How /v1/chat/completions returns an answer unless the request says: split (the stages before the CONCLUSION in
    /// reasoning_content, the conclusion's text in content, as reasoning clients expect) or tagged (all in content).
    /// </summary>
    public string ReasoningFormat { get; set; } = "split";

    /// <summary>The values <see cref="ReasoningFormat"/> and a request's reasoning_format take.</summary>
    public static readonly string[] ReasoningFormats = ["split", "tagged"];

    /// <summary>Sequences one decode step runs, all searches together; more wait for the next step.</summary>
    public int MaxBatchRows { get; set; } = ModelWorker.DefaultMaxBatchRows;

    /// <summary>Prompt tokens prefilled between two decode steps (a chunk); 0 prefills each prompt whole.</summary>
    public int PrefillChunkTokens { get; set; } = RuntimeOptions.DefaultPrefillChunkTokens;

    /// <summary>Searches that may wait for a slot; beyond that requests get 429.</summary>
    public int QueueLength { get; set; } = 8;

    /// <summary>Seconds a client is told to wait after a 429 or a 503.</summary>
    public int RetryAfterSeconds { get; set; } = 5;

    /// <summary>Largest request body (bytes); larger ones get 413.</summary>
    public long MaxBodyBytes { get; set; } = 20L * 1024 * 1024;

    public int MaxQuestionChars { get; set; } = 8192;

    /// <summary>Upper bound for max_new_tokens (per generate call); also its default.</summary>
    public int MaxNewTokens { get; set; } = 2048;

    /// <summary>New-token limit of every judge and pre-check reply, whatever the request's max_new_tokens (the spec: 2048).</summary>
    public int JudgeMaxNewTokens { get; set; } = 2048;

    /// <summary>
    /// Candidates that generated the same ids are not compared or scored twice: the lower index wins at no cost. False
    /// makes every comparison, the reference's call pattern.
    /// </summary>
    public bool SkipIdenticalCandidates { get; set; } = true;

    /// <summary>The date (YYYY-MM-DD) text-only prompts carry when a request names none; empty: today.</summary>
    public string? Date { get; set; }

    /// <summary>
    /// Megabytes of prompt keys and values kept for reuse by later prompts of any search; null: an eighth of the
    /// memory left after loading, at most 256; 0 keeps nothing between prompts.
    /// </summary>
    public int? PrefixCacheMegabytes { get; set; }

    /// <summary>
    /// MB for the features of recent images shared across requests (a second question about an image skips the vision
    /// tower); empty: a quarter of the memory left after loading, at most 512; 0: off.
    /// </summary>
    public int? ImageCacheMegabytes { get; set; }

    /// <summary>
    /// Hosts whose http(s) image URLs chat requests may send, comma-separated: names ("images.example.com"), all names
    /// under a domain ("*.example.com"), or IP literals (an address is only fetched when listed as one). Empty: no URL
    /// is fetched (data: URIs only).
    /// </summary>
    public string? ImageUrlHosts { get; set; }

    public IReadOnlyList<string> ImageUrlHostList =>
        (ImageUrlHosts ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Largest image fetched from a URL (bytes).</summary>
    public long ImageUrlMaxBytes { get; set; } = 20L * 1024 * 1024;

    /// <summary>Seconds an image URL may take to fetch, redirects included.</summary>
    public int ImageUrlTimeoutSeconds { get; set; } = 10;

    /// <summary>Largest decoded image (width × height).</summary>
    public long MaxImagePixels { get; set; } = 40_000_000;

    /// <summary>Console log format: text or json (compact JSON, one object per line).</summary>
    public string LogFormat { get; set; } = "text";

    public bool UsesBundledModel => string.IsNullOrWhiteSpace(ModelDirectory);

    public string ResolvedModelDirectory => Path.GetFullPath(UsesBundledModel ? BundledModel.Directory : ModelDirectory!);

    public RuntimeOptions ToRuntimeOptions() => new()
    {
        ModelDirectory = ResolvedModelDirectory,
        Device = Device,
        DType = DType,
        Bf16Support = Bf16Support,
        WeightsFile = string.IsNullOrWhiteSpace(WeightsFile) ? null : WeightsFile,
        Quantize = Quantize,
        ImageLimits = new ImageLimits { MaxPixels = MaxImagePixels },
        PrefixCacheBytes = PrefixCacheMegabytes * 1024L * 1024,
        MaxBatchRows = MaxBatchRows,
        PrefillChunkTokens = PrefillChunkTokens,
        ImageCacheBytes = ImageCacheMegabytes * 1024L * 1024,
        Date = ParseDate(Date),
        Reasoning = Reasoning,
    };

    /// <summary>The search's settings: judge token limit, identical candidates, and the bounds every request is checked against.</summary>
    public ReasonerSettings Reasoning => new()
    {
        JudgeMaxNewTokens = JudgeMaxNewTokens,
        SkipIdenticalCandidates = SkipIdenticalCandidates,
        Limits = new RequestLimits { MaxNewTokens = MaxNewTokens, MaxQuestionChars = MaxQuestionChars },
    };

    /// <summary>A YYYY-MM-DD date; null for empty; throws FormatException otherwise.</summary>
    public static DateOnly? ParseDate(string? value) =>
        string.IsNullOrWhiteSpace(value)
            ? null
            : DateOnly.ParseExact(value.Trim(), "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Short command-line switches for the common settings.</summary>
    public static IDictionary<string, string> Switches { get; } = new Dictionary<string, string>
    {
        ["--model"] = $"{Section}:{nameof(ModelDirectory)}",
        ["--device"] = $"{Section}:{nameof(Device)}",
        ["--dtype"] = $"{Section}:{nameof(DType)}",
        ["--quantize"] = $"{Section}:{nameof(Quantize)}",
        ["--max-concurrent"] = $"{Section}:{nameof(MaxConcurrentSearches)}",
        ["--queue-length"] = $"{Section}:{nameof(QueueLength)}",
        ["--log-format"] = $"{Section}:{nameof(LogFormat)}",
    };
}

/// <summary>Checks the settings at start, the model folder included, so a bad setting stops the server with a clear message.</summary>
public sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerOptions o)
    {
        var errors = new List<string>();
        void Require(bool ok, string message)
        {
            if (!ok)
                errors.Add($"{ServerOptions.Section}:{message}");
        }
        // The settings the runtime parses are checked by the same parsers, so both agree on what is valid.
        void Parses(string setting, Action parse)
        {
            try
            {
                parse();
            }
            catch (ArgumentException ex)
            {
                errors.Add($"{ServerOptions.Section}:{setting}: {ex.Message}");
            }
        }
        Require(o.MaxConcurrentSearches >= 1, $"{nameof(o.MaxConcurrentSearches)} must be at least 1, got {o.MaxConcurrentSearches}");
        Require(o.QueueLength >= 0, $"{nameof(o.QueueLength)} must be 0 or more, got {o.QueueLength}");
        Require(o.RetryAfterSeconds >= 1, $"{nameof(o.RetryAfterSeconds)} must be at least 1, got {o.RetryAfterSeconds}");
        Require(o.MaxBodyBytes >= 1024, $"{nameof(o.MaxBodyBytes)} must be at least 1024, got {o.MaxBodyBytes}");
        Require(o.MaxQuestionChars >= 1, $"{nameof(o.MaxQuestionChars)} must be at least 1, got {o.MaxQuestionChars}");
        Require(o.MaxNewTokens >= 1, $"{nameof(o.MaxNewTokens)} must be at least 1, got {o.MaxNewTokens}");
        Require(o.JudgeMaxNewTokens >= 1, $"{nameof(o.JudgeMaxNewTokens)} must be at least 1, got {o.JudgeMaxNewTokens}");
        Require(ServerOptions.ReasoningFormats.Contains(o.ReasoningFormat), $"{nameof(o.ReasoningFormat)} must be split or tagged, got '{o.ReasoningFormat}'");
        Require(o.MaxBatchRows is >= 1 and <= Model.Layers.DecodeScope.MaxRows,
            $"{nameof(o.MaxBatchRows)} must lie in 1..{Model.Layers.DecodeScope.MaxRows} (decode is batch-invariant up to there), got {o.MaxBatchRows}");
        Require(o.PrefillChunkTokens >= 0, $"{nameof(o.PrefillChunkTokens)} must be 0 (whole prompts) or more, got {o.PrefillChunkTokens}");
        Require(o.PrefixCacheMegabytes is null or >= 0, $"{nameof(o.PrefixCacheMegabytes)} must be 0 (off) or more, got {o.PrefixCacheMegabytes}");
        Require(o.ImageCacheMegabytes is null or >= 0, $"{nameof(o.ImageCacheMegabytes)} must be 0 (off) or more, got {o.ImageCacheMegabytes}");
        Parses(nameof(o.Bf16Support), () => DTypePolicy.ParseBf16Support(o.Bf16Support));
        Require(IsDate(o.Date), $"{nameof(o.Date)} must be a date as YYYY-MM-DD (or empty for today), got '{o.Date}'");
        Require(o.MaxImagePixels is >= 1 and <= ImageLimits.MaxSupportedPixels,
            $"{nameof(o.MaxImagePixels)} must lie in 1..{ImageLimits.MaxSupportedPixels}, got {o.MaxImagePixels}");
        Require(o.ImageUrlMaxBytes >= 1, $"{nameof(o.ImageUrlMaxBytes)} must be at least 1, got {o.ImageUrlMaxBytes}");
        Require(o.ImageUrlTimeoutSeconds >= 1, $"{nameof(o.ImageUrlTimeoutSeconds)} must be at least 1, got {o.ImageUrlTimeoutSeconds}");
        Require(o.ImageUrlHostList.All(h => !h.Contains('/') && !h.Contains(':') || System.Net.IPAddress.TryParse(h.Trim('[', ']'), out _)),
            $"{nameof(o.ImageUrlHosts)} lists host names, *.domain or IP literals (no scheme, path or port), got '{o.ImageUrlHosts}'");
        Require(o.LogFormat is "text" or "json", $"{nameof(o.LogFormat)} must be text or json, got '{o.LogFormat}'");
        Parses(nameof(o.Device), () => TorchSettings.ParseDevice(o.Device));
        Parses(nameof(o.Quantize), () => RuntimeOptions.ParseQuantization(o.Quantize));
        Parses(nameof(o.DType), () => DTypePolicy.ParseSetting(o.DType));
        if (CheckModelDirectory(o.ResolvedModelDirectory, o.WeightsFile) is { } problem)
            errors.Add(o.UsesBundledModel
                ? $"{ServerOptions.Section}:{nameof(o.ModelDirectory)} is not set and the bundled demo model at '{o.ResolvedModelDirectory}' " +
                  $"is not usable: {problem}. Set {ServerOptions.Section}:{nameof(o.ModelDirectory)} (or --model) to a Mllama folder"
                : $"{ServerOptions.Section}:{nameof(o.ModelDirectory)} '{o.ModelDirectory}' is not a usable model folder: {problem}");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsDate(string? value)
    {
        try
        {
            ServerOptions.ParseDate(value);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>What is wrong with a model folder, or null: config, preprocessor config, tokenizer and weights must be there and readable.</summary>
    public static string? CheckModelDirectory(string dir, string? weightsFile)
    {
        if (!Directory.Exists(dir))
            return "the folder does not exist";
        try
        {
            var config = MllamaConfig.Load(dir);
            PreprocessorConfig.Load(dir);
            TokenizerLoader.Load(dir, config);
        }
        catch (ConfigException ex)
        {
            return ex.Message;
        }
        string[] weights = weightsFile is { Length: > 0 } w ? [w] : ["model.safetensors", "model.safetensors.index.json"];
        return weights.Any(f => File.Exists(Path.Combine(dir, f)))
            ? null
            : $"no weights: looked for {string.Join(" and ", weights)}";
    }
}
