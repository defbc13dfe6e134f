using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaCot.Runtime;

namespace LlavaCot.Training.Train;

/// <summary>
/// The <c>llavacot.json</c> a trained shapes model carries: its id, an honest description for /v1/models, a judge
/// reply limit that fits its one-sentence verdicts, and the SWIRES cutoff, default mode and scorer chosen for it.
/// </summary>
public static class DemoCard
{
    public const string Name = "llavacot-demo-shapes-2";

    public const string Description =
        "Small demo Mllama trained by `llavacot train` on synthetic shapes only: 224-px images of 1-5 red, green, blue or " +
        "yellow circles, squares and triangles on grey. It answers nine question templates (counts, colours, shapes, " +
        "yes/no, the leftmost shape) in LLaVA-CoT's four tagged stages and judges and verifies its own candidates (trained " +
        "on them); on any other image " +
        "or question its answers are meaningless.";

    /// <summary>Its verdicts are one sentence; a reply that runs on is cut here instead of at the server's 2048.</summary>
    public const int JudgeMaxNewTokens = 96;

    // Chosen on the validation set (seed 777) and declared in models/demo/README.md before the held-out evaluation.
    public const double SwiresCutoff = 0.59;
    public const string DefaultMode = "weighted_best_of_n";
    public const string DefaultScorer = "verifier";

    public static void Write(string dir) =>
        File.WriteAllText(Path.Combine(dir, ModelSettings.FileName), new JsonObject
        {
            ["name"] = Name,
            ["description"] = Description,
            ["judge_max_new_tokens"] = JudgeMaxNewTokens,
            ["swires_cutoff"] = SwiresCutoff,
            ["default_mode"] = DefaultMode,
            ["default_scorer"] = DefaultScorer,
        }.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
}
