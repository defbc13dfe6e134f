using System.Diagnostics;
using System.Text.Json.Nodes;
using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.IO;
using LlavaCot.Model.Layers;
using LlavaCot.Runtime;
using static TorchSharp.torch;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot make-random &lt;config dir&gt; &lt;out dir&gt; [--dtype bf16|fp32] [--shards K] [--seed S] [--tokenizer dir]</c>:
/// a complete Hugging Face Mllama folder with the config's real tensor names and shapes and seeded random values,
/// written tensor by tensor (one tensor in memory at a time), to rehearse a model that cannot be downloaded.
/// </summary>
public static class MakeRandomCommand
{
    public static readonly string[] Options = ["dtype", "shards", "seed", "tokenizer"];

    /// <summary>The folder's files besides the weights, taken from the config folder (the tokenizer's from --tokenizer when given).</summary>
    private static readonly string[] ConfigFiles = [MllamaConfig.FileName, PreprocessorConfig.FileName, GenerationConfig.FileName, "chat_template.json"];
    private static readonly string[] TokenizerFiles =
        [Llama3Tokenizer.FileName, "tokenizer_config.json", "special_tokens_map.json", ByteTokenizer.FileName, ByteTokenizer.ManifestFileName];

    public static int Run(CommandArgs args, TextWriter o)
    {
        var configDir = args.Required(0, "<config dir>");
        var outDir = args.NewFolder(1, "<out dir>");
        var dtype = TorchSettings.ParseDType(args.Option("dtype") ?? "bf16");
        var shards = args.Int("shards", 1, 1);
        var seed = args.Int("seed", 1, 0);
        var tokenizerDir = args.Option("tokenizer") ?? configDir;
        var config = MllamaConfig.Load(configDir);
        // The folder must load as the model's: the same loader reads the tokenizer it will hold (a clear error if none).
        TokenizerLoader.Load(tokenizerDir, config);

        Directory.CreateDirectory(outDir);
        foreach (var file in ConfigFiles.Where(f => File.Exists(Path.Combine(configDir, f))))
            File.Copy(Path.Combine(configDir, file), Path.Combine(outDir, file));
        foreach (var file in TokenizerFiles.Where(f => File.Exists(Path.Combine(tokenizerDir, f))))
            File.Copy(Path.Combine(tokenizerDir, file), Path.Combine(outDir, file), overwrite: true);
        var configJson = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, MllamaConfig.FileName)))!;
        configJson["torch_dtype"] = dtype == ScalarType.BFloat16 ? "bfloat16" : "float32";
        File.WriteAllText(Path.Combine(outDir, MllamaConfig.FileName), configJson.ToJsonString(new() { WriteIndented = true }) + "\n");

        var plan = WeightManifest.Of(config).Select(e => new PlannedTensor(e.Name, e.Shape, dtype)).ToList();
        var total = plan.Sum(p => p.Bytes);
        o.WriteLine($"writing {plan.Count} tensors, {total / 1e9:F1} GB of {(dtype == ScalarType.BFloat16 ? "bf16" : "fp32")}, " +
                    $"in {Math.Min(shards, plan.Count)} file(s) to {outDir} (seed {seed})");
        var weights = new RandomWeights(seed, dtype, CPU);
        var clock = Stopwatch.StartNew();
        long done = 0;
        var progress = new ProgressBar(o, ProgressBar.IsTerminal(o), total / 1e9, "GB") { Decimals = 1, UnitAfterCount = true };
        CheckpointWriter.Write(outDir, plan, p => weights.Load(p.Name, p.Shape), shards,
            new Dictionary<string, string> { ["format"] = "pt", ["llavacot"] = $"random weights, seed {seed}" },
            (bytes, shard) =>
            {
                done += bytes;
                progress.Update(done / 1e9, $"shard {shard}/{Math.Min(shards, plan.Count)}");
            });
        o.WriteLine($"wrote {outDir} in {clock.Elapsed.TotalSeconds:F0} s");
        return 0;
    }
}
