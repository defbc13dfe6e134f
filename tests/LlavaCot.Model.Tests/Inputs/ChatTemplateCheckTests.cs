using System.Text.Json.Nodes;
using LlavaCot.Model.Inputs;
using LlavaCot.Tests;

namespace LlavaCot.Model.Tests.Inputs;

public class ChatTemplateCheckTests
{
    /// <summary>A template of our own making that holds every piece of the rendering ChatTemplate does.</summary>
    private const string Matching =
        "{{ bos_token }}{% if not has_image %}<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n" +
        "Today Date: {{ strftime_now(\"%d %b %Y\") }}\n\n<|eot_id|>{% endif %}{% for m in messages %}<|start_header_id|>{{ m.role }}" +
        "<|end_header_id|>\n\n{% for c in m.content %}{% if c.type == 'image' %}<|image|>{% else %}{{ c.text }}{% endif %}{% endfor %}" +
        "<|eot_id|>{% endfor %}<|start_header_id|>assistant<|end_header_id|>\n\n";

    private static void WriteJson(string file, string template, bool asList = false) =>
        File.WriteAllText(file, new JsonObject
        {
            ["chat_template"] = asList
                ? new JsonArray(new JsonObject { ["name"] = "tool_use", ["template"] = "x" }, new JsonObject { ["name"] = "default", ["template"] = template })
                : template,
        }.ToJsonString());

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void A_text_only_llama3_template_is_named_with_what_it_lacks()
    {
        // The Llama 3 (8B) tokenizer_config.json: no image token, no system block with the date.
        var dir = Fixtures.Path("llama3-tokenizer");
        var warning = ChatTemplateCheck.Warning(dir);
        Assert.NotNull(warning);
        Assert.Contains(Path.Combine(dir, "tokenizer_config.json"), warning);
        Assert.Contains("(it lacks image parts rendered as <|image|>; a system block in text-only prompts (knowledge cut-off); ", warning);
        Assert.DoesNotContain("turn headers", warning);
    }

    [Fact]
    public void A_template_with_every_piece_gives_no_warning_wherever_it_is_kept()
    {
        Assert.Empty(ChatTemplateCheck.Missing(Matching));
        using var temp = new TempDir();
        Assert.Null(ChatTemplateCheck.Warning(temp.Path));
        WriteJson(temp.File("tokenizer_config.json"), "{{ messages }}");
        WriteJson(temp.File("chat_template.json"), Matching, asList: true);
        Assert.Null(ChatTemplateCheck.Warning(temp.Path));
        // chat_template.jinja comes first, as in transformers.
        File.WriteAllText(temp.File("chat_template.jinja"), Matching.Replace("<|image|>", "<image>"));
        Assert.Contains("chat_template.jinja", ChatTemplateCheck.Warning(temp.Path));
        Assert.Equal(["image parts rendered as <|image|>"], ChatTemplateCheck.Missing(Matching.Replace("<|image|>", "<image>")));
    }

    [Fact]
    public void Another_family_lacks_most_pieces()
    {
        var missing = ChatTemplateCheck.Missing("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}");
        Assert.True(missing.Count >= 6, string.Join("; ", missing));
    }
}
