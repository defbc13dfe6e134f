using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlavaCot.Training.Eval;

/// <summary>A paired comparison of two rows on the same questions: mean difference of correctness with its 95 % interval.</summary>
public sealed record PairedResult(string A, string B, int Count, double Difference, double CiLow, double CiHigh)
{
    public static PairedResult Of(ModeResult a, ModeResult b)
    {
        var differences = a.Correct.Zip(b.Correct, (x, y) => (x ? 1 : 0) - (y ? 1 : 0)).ToList();
        var (mean, low, high) = Interval.PairedDifference(differences);
        return new PairedResult(a.Label, b.Label, differences.Count, mean, low, high);
    }

    public bool Beats => CiLow > 0;
}

/// <summary>The evaluation's table (stdout) and JSON.</summary>
public static class EvalReport
{
    public static readonly string[] JudgedStages = ["caption", "reasoning", "conclusion", "answer"];

    public static void WriteTable(TextWriter o, IReadOnlyList<ModeResult> results, IReadOnlyList<PairedResult> paired, string? scoring)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine("mode                     count  accuracy  95% interval    tags ok  caption ok  judge agreement (caption/reasoning/conclusion/answer)  tokens/q  judge/q  seconds");
        foreach (var r in results)
        {
            var agreement = string.Join(" / ", JudgedStages.Select(s => r.JudgeAgreement.TryGetValue(s, out var a) && a.Rate is { } rate
                ? string.Create(inv, $"{100 * rate:F0}% of {a.Comparisons}") : "-"));
            o.WriteLine(string.Create(inv,
                $"{r.Label,-24} {r.Count,5}  {100 * r.Accuracy,7:F1}%  [{100 * r.CiLow,5:F1}, {100 * r.CiHigh,5:F1}]  {100 * r.TagsOk,6:F1}%  {(r.CaptionOk is { } c ? $"{100 * c,9:F1}%" : "         -"),10}  {agreement,-53}  {(double)r.Tokens / Math.Max(1, r.Count),8:F0}  {(double)r.JudgeTokens / Math.Max(1, r.Count),7:F0}  {r.Seconds,7:F0}"));
        }
        foreach (var p in paired)
            o.WriteLine(string.Create(inv,
                $"{p.A} vs {p.B} on the same {p.Count} questions: {100 * p.Difference:+0.0;-0.0;0.0} points, 95% interval [{100 * p.CiLow:+0.0;-0.0;0.0}, {100 * p.CiHigh:+0.0;-0.0;0.0}] ({(p.Beats ? "beats it" : p.CiHigh < 0 ? "worse" : "no significant difference")})"));
        if (results.FirstOrDefault(r => r.AccuracyByType.Count > 0) is { } typed)
            o.WriteLine($"{typed.Label} by question type: " + string.Join(", ",
                typed.AccuracyByType.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => string.Create(inv, $"{p.Key} {100 * p.Value:F0}%"))));
        if (scoring is not null)
            o.WriteLine(scoring);
    }

    public static void WriteJson(string path, IReadOnlyList<ModeResult> results, IReadOnlyList<PairedResult> paired, string? scoring)
    {
        var root = new JsonObject
        {
            ["results"] = new JsonArray(results.Select(r => (JsonNode)new JsonObject
            {
                ["mode"] = r.Mode,
                ["n"] = r.N,
                ["label"] = r.Label,
                ["count"] = r.Count,
                ["accuracy"] = r.Accuracy,
                ["ci_low"] = r.CiLow,
                ["ci_high"] = r.CiHigh,
                ["tags_ok"] = r.TagsOk,
                ["caption_ok"] = r.CaptionOk,
                ["judge_agreement"] = new JsonObject(r.JudgeAgreement.Select(p => KeyValuePair.Create(p.Key,
                    (JsonNode?)new JsonObject { ["rate"] = p.Value.Rate, ["comparisons"] = p.Value.Comparisons }))),
                ["tokens"] = r.Tokens,
                ["judge_tokens"] = r.JudgeTokens,
                ["seconds"] = r.Seconds,
                ["accuracy_by_type"] = new JsonObject(r.AccuracyByType.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
            }).ToArray()),
            ["paired"] = new JsonArray(paired.Select(p => (JsonNode)new JsonObject
            {
                ["a"] = p.A, ["b"] = p.B, ["count"] = p.Count, ["difference"] = p.Difference, ["ci_low"] = p.CiLow, ["ci_high"] = p.CiHigh,
            }).ToArray()),
        };
        if (scoring is not null)
            root["scoring"] = scoring;
        File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Every question's answer under every row, as JSONL: for reading what a model got wrong, not only how often.</summary>
    public static void WriteAnswers(string path, IReadOnlyList<EvalItem> items, IReadOnlyList<ModeResult> results)
    {
        using var writer = new StreamWriter(path);
        foreach (var r in results)
        {
            for (var i = 0; i < r.Texts.Count; i++)
            {
                writer.WriteLine(new JsonObject
                {
                    ["label"] = r.Label,
                    ["id"] = items[i].Id,
                    ["type"] = items[i].Type,
                    ["question"] = items[i].Question,
                    ["expected"] = items[i].Accept.FirstOrDefault(),
                    ["correct"] = r.Correct[i],
                    ["text"] = r.Texts[i],
                    ["reference"] = items[i].Reference,
                }.ToJsonString());
            }
        }
    }
}
