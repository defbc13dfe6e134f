using System.Text;
using LlavaCot.Training.Shapes;
using SkiaSharp;

namespace LlavaCot.Training.Eval;

/// <summary>
/// Reads the question sets <c>llavacot eval</c> takes: our JSONL (image path, question, answer, optional reference
/// response), or VLMEvalKit's multiple-choice TSV (index, question, hint?, A…D, answer, image as base64; how MMStar,
/// MMBench and AI2D are distributed), whose prompt is built as VLMEvalKit builds it for multiple choice.
/// </summary>
public static class EvalSets
{
    public static IReadOnlyList<EvalItem> Load(string path, int? limit = null)
    {
        var items = path.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase) ? FromTsv(path, limit) : FromJsonl(path, limit);
        return limit is { } k ? items.Take(k).ToList() : items;
    }

    private static List<EvalItem> FromJsonl(string path, int? limit)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return ShapeDataset.Read(path).Take(limit ?? int.MaxValue).Select((d, i) => new EvalItem(
            i.ToString(System.Globalization.CultureInfo.InvariantCulture),
            File.ReadAllBytes(Path.Combine(dir, d.Image)), d.Question, [d.Answer], d.Response, d.Type)).ToList();
    }

    private static readonly string[] Letters = ["A", "B", "C", "D", "E", "F", "G", "H"];

    private static List<EvalItem> FromTsv(string path, int? limit)
    {
        var rows = Tsv.Read(File.ReadAllText(path));
        if (rows.Count == 0)
            throw new InvalidDataException($"{path}: empty");
        var header = rows[0];
        int Column(string name) => Array.IndexOf(header, name);
        var (index, question, hint, answer, image) = (Column("index"), Column("question"), Column("hint"), Column("answer"), Column("image"));
        if (question < 0 || answer < 0 || image < 0)
            throw new InvalidDataException($"{path}: needs the columns question, answer and image (has {string.Join(", ", header)})");
        var items = new List<EvalItem>();
        foreach (var row in rows.Skip(1).Take(limit ?? int.MaxValue))
        {
            string Cell(int c) => c >= 0 && c < row.Length ? row[c] : "";
            var options = Letters.Select(l => (Letter: l, Text: Cell(Column(l)))).Where(o => Present(o.Text)).ToList();
            var prompt = new StringBuilder();
            if (Present(Cell(hint)))
                prompt.Append("Hint: ").Append(Cell(hint)).Append('\n');
            prompt.Append("Question: ").Append(Cell(question)).Append('\n');
            prompt.Append("Options:\n");
            foreach (var (letter, text) in options)
                prompt.Append(letter).Append(". ").Append(text).Append('\n');
            prompt.Append("Please select the correct answer from the options above. \n");
            var letterAnswer = Cell(answer).Trim();
            var accept = new List<string> { letterAnswer };
            if (options.FirstOrDefault(o => o.Letter == letterAnswer).Text is { } optionText && Present(optionText))
                accept.Add(optionText);
            items.Add(new EvalItem(Present(Cell(index)) ? Cell(index) : items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Convert.FromBase64String(Cell(image).Trim()), prompt.ToString(), accept, null, "multiple_choice"));
        }
        return items;
    }

    /// <summary>pandas writes a missing option as an empty cell or "nan".</summary>
    private static bool Present(string cell) => !string.IsNullOrWhiteSpace(cell) && cell != "nan";

    /// <summary>The same questions with each image replaced by a blank one of the same size: answers must then come from the text alone.</summary>
    public static IReadOnlyList<EvalItem> Blank(IReadOnlyList<EvalItem> items) => items.Select(item =>
    {
        if (item.Image is not { } image)
            return item;
        using var data = SKData.CreateCopy(image.Span);
        using var codec = SKCodec.Create(data);
        var info = codec?.Info ?? new SKImageInfo(ShapeScene.Size, ShapeScene.Size);
        using var bitmap = new SKBitmap(new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        bitmap.Erase(new SKColor(240, 240, 240));
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return item with { Image = png.ToArray() };
    }).ToList();
}

/// <summary>Tab-separated values as pandas writes them: fields may be double-quoted (quotes doubled), holding tabs or newlines.</summary>
public static class Tsv
{
    public static List<string[]> Read(string text)
    {
        var rows = new List<string[]>();
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                    quoted = false;
                else
                    field.Append(c);
            }
            else if (c == '"' && field.Length == 0)
                quoted = true;
            else if (c == '\t')
            {
                row.Add(field.ToString());
                field.Clear();
            }
            else if (c is '\n' or '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                    i++;
                row.Add(field.ToString());
                field.Clear();
                if (row.Count > 1 || row[0].Length > 0)
                    rows.Add([.. row]);
                row.Clear();
            }
            else
                field.Append(c);
        }
        if (field.Length > 0 || row.Count > 0)
        {
            row.Add(field.ToString());
            rows.Add([.. row]);
        }
        return rows;
    }
}
