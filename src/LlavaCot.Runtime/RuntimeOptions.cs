using LlavaCot.Model.Inputs;

namespace LlavaCot.Runtime;

/// <summary>Where the model comes from and how it runs.</summary>
public sealed record RuntimeOptions
{
    /// <summary>A Hugging Face Mllama folder (config, weights, tokenizer, preprocessor config).</summary>
    public required string ModelDirectory { get; init; }

    /// <summary>cpu, cuda, cuda:N, or auto (cuda when available).</summary>
    public string Device { get; init; } = "auto";

    /// <summary>float32 or bfloat16 (also fp32, bf16).</summary>
    public string DType { get; init; } = "float32";

    /// <summary>A weights file inside the folder to use instead of the default (e.g. model.bf16.safetensors).</summary>
    public string? WeightsFile { get; init; }

    public ImageLimits ImageLimits { get; init; } = ImageLimits.Default;

    /// <summary>Prefix caches kept per request (the stage chain and the judge prompts reuse theirs).</summary>
    public int PrefixCaches { get; init; } = 3;
}
