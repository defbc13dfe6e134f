using System.Globalization;
using LlavaCot.Model;
using LlavaCot.Model.Generation;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.IO;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot verify-fixture &lt;dir&gt; [--quantize int8|int4]</c>: runs every case of a golden fixture folder (config.json,
/// weights, cases/*.safetensors) and compares each stored tensor the model produces: floats within 1e-4, ids exactly.
/// With <c>--quantize</c> it measures the quantized weights against the same weights unquantized instead (fp32 and, when
/// the folder has them, bf16 weights): teacher-forced top-1 agreement over every position of every case and the relative
/// RMS error of the logits; int8 against its targets (≥ 95 %, ≤ 3 %), int4 measured only (the fixture's random weights
/// give nearly flat logits, so top-1 there says little; the trained demo model is where int4 is judged).
/// </summary>
public static class VerifyFixtureCommand
{
    public static readonly string[] Options = ["quantize"];

    private const double Atol = 1e-4;
    private const string Bf16Weights = "model.bf16.safetensors";
    private const double MinAgreement = 0.95;
    private const double MaxRelativeRms = 0.03;

    public static int Run(CommandArgs args, TextWriter o)
    {
        var dir = args.Required(0, "<fixture dir>");
        var cases = Directory.Exists(Path.Combine(dir, "cases"))
            ? Directory.GetFiles(Path.Combine(dir, "cases"), "*.safetensors").Order().ToList()
            : [];
        if (cases.Count == 0)
            throw new IOException($"{dir}: no cases/*.safetensors to verify");
        if (args.Quantization() is not Quantization.None and var format)
            return Quantized(dir, cases, format, o);

        using var model = MllamaModel.Load(dir);
        using var bf16 = File.Exists(Path.Combine(dir, Bf16Weights)) ? MllamaModel.Load(dir, weightsFile: Bf16Weights) : null;
        var failures = 0;
        var compared = 0;
        foreach (var path in cases)
        {
            using var file = SafetensorsFile.Open(path);
            var name = Path.GetFileNameWithoutExtension(path);
            foreach (var (tensor, detail, ok) in Verify(model, bf16, file))
            {
                compared++;
                if (!ok)
                    failures++;
                o.WriteLine($"{name} {tensor}: {detail}{(ok ? "" : "  FAILED")}");
            }
        }
        o.WriteLine(failures == 0 && compared > 0 ? "fixture OK" : "fixture FAILED");
        return failures == 0 && compared > 0 ? 0 : 1;
    }

    private static IEnumerable<(string Tensor, string Detail, bool Ok)> Verify(MllamaModel model, MllamaModel? bf16, SafetensorsFile file)
    {
        using var inputs = ReadInputs(file);
        var results = new List<(string, string, bool)>();
        using (var trace = Trace(model, inputs))
        {
            foreach (var (name, actual) in trace.Tensors.Where(t => file.Contains(t.Key)).OrderBy(t => t.Key, StringComparer.Ordinal))
                results.Add(Compare(file, name, actual));
        }
        if (file.Contains("generated_new_ids"))
            results.AddRange(Generate(model, inputs, file, "generated_new_ids", "generation_step_logits", "generated_ids"));
        if (bf16 is not null && file.Contains("logits_bf16_weights"))
        {
            using var trace = Trace(bf16, inputs);
            results.Add(Compare(file, "logits_bf16_weights", trace.Tensors["logits"]));
        }
        if (bf16 is not null && file.Contains("generated_new_ids_bf16_weights"))
            results.AddRange(Generate(bf16, inputs, file, "generated_new_ids_bf16_weights", null, null));
        return results;
    }

    /// <summary>Quantized against the unquantized weights of each weights file, over every case's teacher-forced logits.</summary>
    private static int Quantized(string dir, IReadOnlyList<string> cases, Quantization format, TextWriter o)
    {
        var ok = true;
        foreach (var weights in new[] { (string?)null, Bf16Weights }.Where(w => w is null || File.Exists(Path.Combine(dir, w))))
        {
            using var reference = MllamaModel.Load(dir, weightsFile: weights);
            using var quantized = MllamaModel.Load(dir, weightsFile: weights, quantize: format);
            var agreement = new LogitAgreement();
            foreach (var path in cases)
            {
                using var file = SafetensorsFile.Open(path);
                using var inputs = ReadInputs(file);
                using var a = Trace(reference, inputs);
                using var b = Trace(quantized, inputs);
                agreement.Add(a.Tensors["logits"], b.Tensors["logits"]);
            }
            var pass = format != Quantization.Int8 || agreement.Agreement >= MinAgreement && agreement.RelativeRms <= MaxRelativeRms;
            ok &= pass;
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{QuantizationText.Name(format)} vs {weights ?? "model.safetensors"}: top-1 agreement {agreement.Agreement:P1} of {agreement.Positions} positions, " +
                $"relative RMS logit error {agreement.RelativeRms:P2}{(pass ? "" : "  FAILED")}"));
        }
        o.WriteLine($"{QuantizationText.Name(format)} {(ok ? "OK" : "FAILED")}");
        return ok ? 0 : 1;
    }

    private static ModelInputs ReadInputs(SafetensorsFile file)
    {
        Tensor? Optional(string name) => file.Contains(name) ? file.Read(name) : null;
        return new ModelInputs(file.Read("input_ids"), Optional("pixel_values"), Optional("aspect_ratio_ids"),
            Optional("aspect_ratio_mask"), Optional("cross_attention_mask"));
    }

    private static ForwardTrace Trace(MllamaModel model, ModelInputs inputs)
    {
        var trace = new ForwardTrace();
        using (inference_mode())
        using (NewDisposeScope())
        {
            using var image = ImageContext.Create(model, inputs, trace);
            model.Prefill(inputs.InputIds, null, image?.Kv, image?.Prompt, allLogits: true, trace: trace);
        }
        trace.Stack();
        return trace;
    }

    private static IEnumerable<(string, string, bool)> Generate(MllamaModel model, ModelInputs inputs, SafetensorsFile file,
        string idsName, string? logitsName, string? fullIdsName)
    {
        using var expected = file.Read(idsName);
        using var scope = NewDisposeScope();
        var stepLogits = new List<Tensor>();
        var greedy = new SequenceSpec(SamplingOptions.Greedy, () => 0, StopRule.Length((int)expected.shape[^1]));
        var generated = Decoder.Generate(model, inputs, Enumerable.Repeat(greedy, (int)inputs.InputIds.shape[0]).ToList(),
            observe: (logits, _) => stepLogits.Add(logits.clone().DetachFromDisposeScope()));
        var all = stack(stepLogits);
        stepLogits.ForEach(t => t.Dispose());
        var ids = tensor(generated.SelectMany(r => r.NewIds.Select(i => (long)i)).ToArray()).view(expected.shape);
        var results = new List<(string, string, bool)> { CompareIds(idsName, expected, ids) };
        if (logitsName is not null && file.Contains(logitsName))
        {
            var golden = file.Read(logitsName);
            results.Add(Compare(file, logitsName, golden.dim() == 2 ? all.select(1, 0) : all));
        }
        if (fullIdsName is not null && file.Contains(fullIdsName))
            results.Add(CompareIds(fullIdsName, file.Read(fullIdsName), cat([inputs.InputIds, ids], 1)));
        return results;
    }

    private static (string, string, bool) Compare(SafetensorsFile file, string name, Tensor actual)
    {
        using var expected = file.Read(name);
        if (!expected.shape.SequenceEqual(actual.shape))
            return (name, $"shape [{string.Join(", ", actual.shape)}] != expected [{string.Join(", ", expected.shape)}]", false);
        using var scope = NewDisposeScope();
        var diff = expected.numel() == 0 ? 0 : (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs().max().item<double>();
        return (name, string.Create(CultureInfo.InvariantCulture, $"max abs diff {diff:G3}"), diff <= Atol);
    }

    private static (string, string, bool) CompareIds(string name, Tensor expected, Tensor actual)
    {
        using var scope = NewDisposeScope();
        if (!expected.shape.SequenceEqual(actual.shape))
            return (name, $"shape [{string.Join(", ", actual.shape)}] != expected [{string.Join(", ", expected.shape)}]", false);
        var differing = expected.ne(actual).sum().item<long>();
        return (name, $"{differing} of {expected.numel()} ids differ", differing == 0);
    }
}
