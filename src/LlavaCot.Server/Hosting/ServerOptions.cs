using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Runtime;
using Microsoft.Extensions.Options;

namespace LlavaCot.Server.Hosting;

/// <summary>The <c>LlavaCot</c> configuration section (appsettings.json, LlavaCot__X environment variables, --LlavaCot:X or the short switches).</summary>
public sealed class ServerOptions
{
    public const string Section = "LlavaCot";

    /// <summary>A Hugging Face Mllama folder; empty serves the built-in demo model (random weights).</summary>
    public string? ModelDirectory { get; set; }

    /// <summary>Where the demo model is created when no model folder is configured.</summary>
    public string? DemoModelDirectory { get; set; }

    /// <summary>cpu, cuda, cuda:N or auto.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>float32 or bfloat16.</summary>
    public string DType { get; set; } = "float32";

    /// <summary>A weights file inside the model folder to load instead of the default one.</summary>
    public string? WeightsFile { get; set; }

    /// <summary>Searches that run at once; the rest wait in the queue.</summary>
    public int MaxConcurrentSearches { get; set; } = 1;

    /// <summary>Searches that may wait for a slot; beyond that requests get 429.</summary>
    public int QueueLength { get; set; } = 8;

    /// <summary>Seconds a client is told to wait after a 429 or a 503.</summary>
    public int RetryAfterSeconds { get; set; } = 5;

    /// <summary>Largest request body (bytes); larger ones get 413.</summary>
    public long MaxBodyBytes { get; set; } = 20L * 1024 * 1024;

    public int MaxQuestionChars { get; set; } = 8192;

    /// <summary>Upper bound for max_new_tokens (per generate call); also its default.</summary>
    public int MaxNewTokens { get; set; } = 2048;

    /// <summary>Largest decoded image (width × height).</summary>
    public long MaxImagePixels { get; set; } = 40_000_000;

    /// <summary>Console log format: text or json (compact JSON, one object per line).</summary>
    public string LogFormat { get; set; } = "text";

    public bool UsesDemoModel => string.IsNullOrWhiteSpace(ModelDirectory);

    public string ResolvedModelDirectory =>
        Path.GetFullPath(UsesDemoModel ? DemoModelDirectory is { Length: > 0 } demo ? demo : DemoModel.DefaultDirectory : ModelDirectory!);

    public RuntimeOptions ToRuntimeOptions() => new()
    {
        ModelDirectory = ResolvedModelDirectory,
        Device = Device,
        DType = DType,
        WeightsFile = string.IsNullOrWhiteSpace(WeightsFile) ? null : WeightsFile,
        ImageLimits = new ImageLimits { MaxPixels = MaxImagePixels },
    };

    /// <summary>Short command-line switches for the common settings.</summary>
    public static IDictionary<string, string> Switches { get; } = new Dictionary<string, string>
    {
        ["--model"] = $"{Section}:{nameof(ModelDirectory)}",
        ["--device"] = $"{Section}:{nameof(Device)}",
        ["--dtype"] = $"{Section}:{nameof(DType)}",
        ["--max-concurrent"] = $"{Section}:{nameof(MaxConcurrentSearches)}",
        ["--queue-length"] = $"{Section}:{nameof(QueueLength)}",
        ["--log-format"] = $"{Section}:{nameof(LogFormat)}",
    };
}

/// <summary>Checks the settings at start, the model folder included, so a bad setting stops the server with a clear message.</summary>
public sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
{
    private static readonly string[] DTypes = ["float32", "fp32", "f32", "bfloat16", "bf16"];

    public ValidateOptionsResult Validate(string? name, ServerOptions o)
    {
        var errors = new List<string>();
        void Require(bool ok, string message)
        {
            if (!ok)
                errors.Add($"{ServerOptions.Section}:{message}");
        }
        Require(o.MaxConcurrentSearches >= 1, $"{nameof(o.MaxConcurrentSearches)} must be at least 1, got {o.MaxConcurrentSearches}");
        Require(o.QueueLength >= 0, $"{nameof(o.QueueLength)} must be 0 or more, got {o.QueueLength}");
        Require(o.RetryAfterSeconds >= 1, $"{nameof(o.RetryAfterSeconds)} must be at least 1, got {o.RetryAfterSeconds}");
        Require(o.MaxBodyBytes >= 1024, $"{nameof(o.MaxBodyBytes)} must be at least 1024, got {o.MaxBodyBytes}");
        Require(o.MaxQuestionChars >= 1, $"{nameof(o.MaxQuestionChars)} must be at least 1, got {o.MaxQuestionChars}");
        Require(o.MaxNewTokens >= 1, $"{nameof(o.MaxNewTokens)} must be at least 1, got {o.MaxNewTokens}");
        Require(o.MaxImagePixels is >= 1 and <= ImageLimits.MaxSupportedPixels,
            $"{nameof(o.MaxImagePixels)} must lie in 1..{ImageLimits.MaxSupportedPixels}, got {o.MaxImagePixels}");
        Require(o.LogFormat is "text" or "json", $"{nameof(o.LogFormat)} must be text or json, got '{o.LogFormat}'");
        var device = o.Device.Trim().ToLowerInvariant();
        Require(device is "cpu" or "auto" or "cuda" || device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(device[5..], out _),
            $"{nameof(o.Device)} must be cpu, cuda, cuda:N or auto, got '{o.Device}'");
        Require(DTypes.Contains(o.DType.Trim().ToLowerInvariant()), $"{nameof(o.DType)} must be float32 or bfloat16, got '{o.DType}'");
        if (!o.UsesDemoModel && CheckModelDirectory(o.ResolvedModelDirectory, o.WeightsFile) is { } problem)
            errors.Add($"{ServerOptions.Section}:{nameof(o.ModelDirectory)} '{o.ModelDirectory}' is not a usable model folder: {problem}");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
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
