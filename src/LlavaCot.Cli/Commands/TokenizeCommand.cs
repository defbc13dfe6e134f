using System.Buffers;
using System.Text;
using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;

namespace LlavaCot.Cli.Commands;

/// <summary>
/// <c>llavacot tokenize &lt;model dir&gt; "text" [--user]</c>: the ids and tokens of a text, through the template path
/// (special-token strings recognised) or, with --user, the user path (never special).
/// </summary>
public static class TokenizeCommand
{
    public const string UserFlag = "--user";

    public static int Run(string[] args, TextWriter o)
    {
        var user = args.Contains(UserFlag);
        var parsed = CommandArgs.Parse(args.Where(a => a != UserFlag).ToArray(), []);
        var dir = parsed.Required(0, "<model dir>");
        var text = parsed.Required(1, "\"text\"");
        // config.json is optional here: a bare tokenizer folder works, it just gets no <|image|> added.
        var config = File.Exists(Path.Combine(dir, MllamaConfig.FileName)) ? MllamaConfig.Load(dir) : null;
        var tokenizer = TokenizerLoader.Load(dir, config);
        var ids = user ? tokenizer.EncodeUser(text) : tokenizer.EncodeTemplate(text);
        o.WriteLine($"path: {(user ? "user" : "template")}, {ids.Count} tokens");
        o.WriteLine($"ids: {string.Join(' ', ids)}");
        o.WriteLine("tokens:");
        foreach (var id in ids)
            o.WriteLine($"  {id,7} {Show(tokenizer.TokenBytes(id))}{(tokenizer.IsSpecial(id) ? " (special)" : "")}");
        return 0;
    }

    /// <summary>A token's bytes as a quoted string; bytes that are not whole UTF-8 characters show as \xNN.</summary>
    private static string Show(ReadOnlySpan<byte> bytes)
    {
        var s = new StringBuilder("\"");
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out var rune, out var used) != OperationStatus.Done)
            {
                for (var i = 0; i < used; i++)
                    s.Append($"\\x{bytes[i]:X2}");
            }
            else if (rune.Value is '"' or '\\')
                s.Append('\\').Append((char)rune.Value);
            else if (rune.Value == '\n')
                s.Append("\\n");
            else if (rune.Value == '\r')
                s.Append("\\r");
            else if (rune.Value == '\t')
                s.Append("\\t");
            else if (Rune.IsControl(rune))
                s.Append($"\\u{rune.Value:X4}");
            else
                s.Append(rune.ToString());
            bytes = bytes[used..];
        }
        return s.Append('"').ToString();
    }
}
