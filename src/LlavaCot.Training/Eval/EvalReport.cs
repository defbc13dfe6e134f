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

/// <summary>The evaluation's tables (stdout) and JSON.</summary>
public static class EvalReport
{
    public static readonly string[] JudgedStages = ["caption", "reasoning", "conclusion", "answer", AgreementCounter.Vote];

    public const string ModelSecondsSource =
        "model s/q: the model threads' own seconds per question (vision, prefill, decode and sampling counters, summed over the instances), not wall time; " +
        "median s/q: the median question's wall time from request to answer (with several workers, questions share the cores)";

    public const string TokenColumns =
        "tokens/q: candidate tokens generated; judge/q: judge reply tokens; decoded/q: tokens through decode steps (candidates and judge replies); " +
        "prefilled/q: prompt tokens through prefill (judge and verifier prompts included, cached prefixes not)";

    /// <summary>The paired comparisons of a run: every row against the sampled single pass, and the scored rows also against the greedy one.</summary>
    public static IReadOnlyList<PairedResult> Paired(IReadOnlyList<ModeResult> results)
    {
        var compared = results.Where(r => !r.Blank).ToList();
        var paired = new List<PairedResult>();
        if (compared.FirstOrDefault(r => r.Label == EvalPlan.SingleLabel) is { } single)
            paired.AddRange(compared.Where(r => r != single).Select(r => PairedResult.Of(r, single)));
        if (compared.FirstOrDefault(r => r.Greedy) is { } greedy)
            paired.AddRange(compared.Where(r => r.Scorer != "none" || r.Scales).Select(r => PairedResult.Of(r, greedy)));
        return paired;
    }

    public static void WriteTable(TextWriter o, IReadOnlyList<ModeResult> results, IReadOnlyList<PairedResult> paired, string? scoring)
    {
        var inv = CultureInfo.InvariantCulture;
        string Points(double v) => (100 * v).ToString("+0.0;-0.0;0.0", inv);
        var width = results.Select(r => r.Label.Length).Append(3).Max();
        o.WriteLine($"{"row".PadRight(width)}  count  accuracy  95% interval    vs single N=1, 95% interval   tags ok  caption ok  tokens/q  judge/q  decoded/q  prefilled/q  model s/q  median s/q  seconds");
        foreach (var r in results)
        {
            var vsSingle = paired.FirstOrDefault(p => p.A == r.Label && p.B == EvalPlan.SingleLabel) is { } p
                ? $"{Points(p.Difference)} [{Points(p.CiLow)}, {Points(p.CiHigh)}]"
                : "-";
            o.WriteLine(string.Create(inv,
                $"{r.Label.PadRight(width)} {r.Count,6}  {100 * r.Accuracy,7:F1}%  [{100 * r.CiLow,5:F1}, {100 * r.CiHigh,5:F1}]  {vsSingle,-28}  {100 * r.TagsOk,6:F1}%  " +
                $"{(r.CaptionOk is { } c ? $"{100 * c,9:F1}%" : "         -"),10}  {r.PerQuestion(r.Tokens),8:F0}  {r.PerQuestion(r.JudgeTokens),7:F0}  " +
                $"{r.PerQuestion(r.DecodedTokens),9:F0}  {r.PerQuestion(r.PrefilledTokens),11:F0}  " +
                $"{(r.ModelSeconds is { } m ? (m / Math.Max(1, r.Count)).ToString("F3", inv) : "-"),9}  {r.MedianSecondsPerQuestion,11:F3}  {r.Seconds,7:F0}"));
        }
        o.WriteLine(TokenColumns);
        o.WriteLine(ModelSecondsSource);

        var scored = results.Where(r => r.JudgeAgreement.Count > 0 || r.Scorer != "none").ToList();
        if (scored.Count > 0)
        {
            o.WriteLine("agreement: of a stage's (right, wrong) candidate pairs, the share where the scorer preferred the right one, of how many pairs, " +
                        "and the 95% lower bound (pairs taken as independent)");
            o.WriteLine($"  {AgreementCounter.PairwiseRule}\n  {AgreementCounter.VerifierRule}\n  {AgreementCounter.VoteRule}");
            o.WriteLine($"{"row".PadRight(width)} " + string.Join("  ", JudgedStages.Select(s => $"{s,-20}")).TrimEnd());
            foreach (var r in scored)
                o.WriteLine($"{r.Label.PadRight(width)} " + string.Join("  ", JudgedStages.Select(s => $"{Agreement(r, s),-20}")).TrimEnd());
        }
        foreach (var r in results.Where(r => r.Cutoffs.Count > 0))
            o.WriteLine($"{r.Label} verifier cutoff (P(correct) at or below it taken as wrong; best balanced accuracy): " + string.Join(", ",
                r.Cutoffs.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => string.Create(inv,
                    $"{c.Key} {c.Value.Cutoff:F3} ({100 * c.Value.BalancedAccuracy:F0}% of {c.Value.Right} right, {c.Value.Wrong} wrong)"))));
        foreach (var p in paired)
            o.WriteLine(string.Create(inv,
                $"{p.A} vs {p.B} on the same {p.Count} questions: {Points(p.Difference)} points, 95% interval [{Points(p.CiLow)}, {Points(p.CiHigh)}] ({(p.Beats ? "beats it" : p.CiHigh < 0 ? "worse" : "no significant difference")})"));
        if (results.FirstOrDefault(r => r.AccuracyByType.Count > 0) is { } typed)
            o.WriteLine($"{typed.Label} by question type: " + string.Join(", ",
                typed.AccuracyByType.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => string.Create(inv, $"{p.Key} {100 * p.Value:F0}%"))));
        if (scoring is not null)
            o.WriteLine(scoring);
    }

    /// <summary>"62% of 137 (≥54%)", or "-" without pairs.</summary>
    private static string Agreement(ModeResult r, string stage) =>
        r.JudgeAgreement.TryGetValue(stage, out var a) && a.Rate is { } rate && a.CiLow is { } low
            ? string.Create(CultureInfo.InvariantCulture, $"{100 * rate:F0}% of {a.Comparisons} (≥{100 * low:F0}%)")
            : "-";

    public static void WriteJson(string path, IReadOnlyList<ModeResult> results, IReadOnlyList<PairedResult> paired, string? scoring)
    {
        var root = new JsonObject
        {
            ["results"] = new JsonArray(results.Select(r => (JsonNode)new JsonObject
            {
                ["mode"] = r.Mode,
                ["n"] = r.N,
                ["label"] = r.Label,
                ["scorer"] = r.Scorer,
                ["greedy"] = r.Greedy,
                ["count"] = r.Count,
                ["accuracy"] = r.Accuracy,
                ["ci_low"] = r.CiLow,
                ["ci_high"] = r.CiHigh,
                ["tags_ok"] = r.TagsOk,
                ["caption_ok"] = r.CaptionOk,
                ["judge_agreement"] = new JsonObject(r.JudgeAgreement.Select(p => KeyValuePair.Create(p.Key,
                    (JsonNode?)new JsonObject
                    {
                        ["rate"] = p.Value.Rate, ["comparisons"] = p.Value.Comparisons, ["agreed"] = p.Value.Agreed, ["ci_low"] = p.Value.CiLow,
                    }))),
                ["verifier_cutoffs"] = new JsonObject(r.Cutoffs.Select(c => KeyValuePair.Create(c.Key, (JsonNode?)new JsonObject
                {
                    ["cutoff"] = c.Value.Cutoff, ["balanced_accuracy"] = c.Value.BalancedAccuracy, ["right"] = c.Value.Right, ["wrong"] = c.Value.Wrong,
                }))),
                ["tokens"] = r.Tokens,
                ["judge_tokens"] = r.JudgeTokens,
                ["judge_calls"] = r.JudgeCalls,
                ["score_calls"] = r.ScoreCalls,
                ["score_tokens"] = r.ScoreTokens,
                ["decoded_tokens"] = r.DecodedTokens,
                ["prefilled_tokens"] = r.PrefilledTokens,
                ["vision_passes"] = r.VisionPasses,
                ["seconds"] = r.Seconds,
                ["model_seconds"] = r.ModelSeconds,
                ["median_seconds_per_question"] = r.MedianSecondsPerQuestion,
                ["accuracy_by_type"] = new JsonObject(r.AccuracyByType.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
            }).ToArray()),
            ["paired"] = new JsonArray(paired.Select(p => (JsonNode)new JsonObject
            {
                ["a"] = p.A, ["b"] = p.B, ["count"] = p.Count, ["difference"] = p.Difference, ["ci_low"] = p.CiLow, ["ci_high"] = p.CiHigh,
            }).ToArray()),
            ["agreement_rules"] = new JsonObject
            {
                ["pairwise"] = AgreementCounter.PairwiseRule, ["verifier"] = AgreementCounter.VerifierRule, ["vote"] = AgreementCounter.VoteRule,
            },
            ["model_seconds_source"] = ModelSecondsSource,
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
                    ["scorer"] = r.Scorer,
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
