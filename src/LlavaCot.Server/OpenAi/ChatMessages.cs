using System.Text.Json;
using LlavaCot.Reasoning;
using LlavaCot.Server.Api;

namespace LlavaCot.Server.OpenAi;

/// <summary>Where the conversation's image comes from: a data: URI or an http(s) URL, and the field that gave it.</summary>
public sealed record ImageReference(string Url, string Field);

/// <summary>
/// A chat request's messages read into what the search takes: the last user turn's text is the question (the judge
/// asks about it), the turns before it are the history, and the conversation's one image is in the user turn that
/// sent it. Text parts of a message are joined by newlines; the image token opens its turn, as LLaVA-CoT trained.
/// </summary>
public sealed record ChatConversation(string Question, IReadOnlyList<PriorTurn> History, ImageReference? Image)
{
    public static ChatConversation? Read(IReadOnlyList<ChatMessageIn> messages, FieldErrors errors)
    {
        if (messages.Count == 0)
        {
            errors.Add("messages", "is required: at least one message with role user");
            return null;
        }
        var turns = new List<PriorTurn>();
        ImageReference? image = null;
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            var at = $"messages[{i}]";
            var role = m.Role == "developer" ? "system" : m.Role;
            if (role is not ("system" or "user" or "assistant"))
            {
                errors.Add($"{at}.role", $"'{m.Role}' is not supported (system, user, assistant)");
                continue;
            }
            if (role == "system" && i > 0)
                errors.Add($"{at}.role", "a system message can only come first");
            var imageBefore = image;
            var text = ReadContent(m.Content, at, role, errors, ref image);
            if (text is not null)
                turns.Add(new PriorTurn(role, text, image is not null && imageBefore is null));
        }
        if (errors.Any)
            return null;
        if (turns[^1].Role != "user")
        {
            errors.Add($"messages[{messages.Count - 1}].role", "the last message must be the user's question");
            return null;
        }
        if (image is not null && turns[0].Role == "system" && turns[0].Text.Trim().Length > 0)
        {
            errors.Add("messages[0]", "a system message cannot be combined with an image (the Llama 3.2 Vision chat template refuses it)");
            return null;
        }
        return new ChatConversation(turns[^1].Text, turns.Take(turns.Count - 1).ToList(), image);
    }

    /// <summary>A message's text (a string, or text parts joined by newlines), noting its image_url part, if any.</summary>
    private static string? ReadContent(JsonElement content, string at, string role, FieldErrors errors, ref ImageReference? image)
    {
        if (content.ValueKind == JsonValueKind.String)
            return content.GetString();
        if (content.ValueKind != JsonValueKind.Array)
        {
            errors.Add($"{at}.content", "must be a string or a list of parts");
            return null;
        }
        var texts = new List<string>();
        var index = 0;
        foreach (var part in content.EnumerateArray())
        {
            var path = $"{at}.content[{index++}]";
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                errors.Add(path, "must be an object with a type (text or image_url)");
                continue;
            }
            foreach (var p in part.EnumerateObject().Where(p => p.Name != "type" && p.Name != type.GetString()))
                errors.Add($"{path}.{p.Name}", "unknown field; it is not supported here");
            switch (type.GetString())
            {
                case "text" when part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String:
                    texts.Add(text.GetString()!);
                    break;
                case "text":
                    errors.Add($"{path}.text", "must be a string");
                    break;
                case "image_url" when role != "user":
                    errors.Add(path, $"a {role} message cannot hold an image; send it in a user message");
                    break;
                case "image_url":
                    var url = part.TryGetProperty("image_url", out var obj) && obj.ValueKind == JsonValueKind.Object ? obj : default;
                    if (url.ValueKind != JsonValueKind.Object || !url.TryGetProperty("url", out var u) || u.ValueKind != JsonValueKind.String)
                    {
                        errors.Add($"{path}.image_url.url", "must be a string (a data: URI or an http(s) URL)");
                        break;
                    }
                    foreach (var p in url.EnumerateObject().Where(p => p.Name is not ("url" or "detail")))
                        errors.Add($"{path}.image_url.{p.Name}", "unknown field; it is not supported here");
                    if (url.TryGetProperty("detail", out var detail) && detail.ValueKind != JsonValueKind.Null && detail.GetString() is not ("auto" or null))
                        errors.Add($"{path}.image_url.detail", "only auto is supported: the image is always tiled at the model's resolution");
                    if (image is not null)
                        errors.Add($"{path}.image_url", $"only one image per conversation is supported (the model's limit); {image.Field} already holds one");
                    else
                        image = new ImageReference(u.GetString()!, $"{path}.image_url.url");
                    break;
                default:
                    errors.Add($"{path}.type", $"'{type.GetString()}' is not supported (text, image_url)");
                    break;
            }
        }
        return string.Join("\n", texts);
    }
}
