using System.Text.Json;

namespace LlavaCot.Model.Inputs;

/// <summary>
/// Compares the chat template a model folder carries with the Llama 3.2 Vision instruct template that
/// <see cref="ChatTemplate"/> renders. Prompts are always rendered our way; a folder whose template lacks a piece
/// of that rendering (another model family, or the short template without the text-only system block) was
/// probably trained on different prompts, which the user should hear about.
/// </summary>
public static class ChatTemplateCheck
{
    /// <summary>Where a folder's template may be, in the order transformers reads them.</summary>
    public static readonly string[] Files = ["chat_template.jinja", "chat_template.json", "tokenizer_config.json"];

    /// <summary>What our rendering relies on, as text the template must hold, and what that text does.</summary>
    private static readonly (string[] AnyOf, string Meaning)[] Pieces =
    [
        (["bos_token", ChatTemplate.BeginOfText], "a leading <|begin_of_text|>"),
        ([ChatTemplate.StartHeader], "turn headers <|start_header_id|>role<|end_header_id|>"),
        ([ChatTemplate.EndHeader], "turn headers <|start_header_id|>role<|end_header_id|>"),
        ([ChatTemplate.EndOfTurn], "turns ending in <|eot_id|>"),
        ([ImageToken.Text], "image parts rendered as <|image|>"),
        (["Cutting Knowledge Date: December 2023"], "a system block in text-only prompts (knowledge cut-off)"),
        (["Today Date: "], "a system block in text-only prompts (today's date)"),
        (["%d %b %Y"], "the date written as strftime(\"%d %b %Y\")"),
    ];

    /// <summary>The folder's chat template and the file it came from, or null when it carries none.</summary>
    public static (string File, string Template)? Find(string modelDir)
    {
        foreach (var name in Files)
        {
            var file = Path.Combine(modelDir, name);
            if (!File.Exists(file))
                continue;
            if (name.EndsWith(".jinja", StringComparison.Ordinal))
                return (file, File.ReadAllText(file));
            if (FromJson(file) is { } template)
                return (file, template);
        }
        return null;
    }

    /// <summary>What of our rendering the template lacks (empty when it holds every piece).</summary>
    public static IReadOnlyList<string> Missing(string template) => Pieces
        .Where(p => !p.AnyOf.Any(text => template.Contains(text, StringComparison.Ordinal)))
        .Select(p => p.Meaning)
        .Distinct()
        .ToList();

    /// <summary>A warning for a folder whose template differs from ours, or null.</summary>
    public static string? Warning(string modelDir)
    {
        if (Find(modelDir) is not { } found || Missing(found.Template) is not { Count: > 0 } missing)
            return null;
        return $"{found.File}: its chat template differs from the Llama 3.2 Vision template LlavaCot renders " +
               $"(it lacks {string.Join("; ", missing)}). Prompts are still rendered the Llama 3.2 Vision way, " +
               "which LLaVA-CoT was trained on; a model trained on this template may answer worse";
    }

    /// <summary>chat_template.json's or tokenizer_config.json's <c>chat_template</c>: a string, or a list of named templates (the default one).</summary>
    private static string? FromJson(string file)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("chat_template", out var t))
                return null;
            if (t.ValueKind == JsonValueKind.String)
                return t.GetString();
            if (t.ValueKind != JsonValueKind.Array)
                return null;
            return t.EnumerateArray()
                .Where(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("template", out var v) && v.ValueKind == JsonValueKind.String)
                .OrderBy(e => e.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() == "default" ? 0 : 1)
                .Select(e => e.GetProperty("template").GetString())
                .FirstOrDefault();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
