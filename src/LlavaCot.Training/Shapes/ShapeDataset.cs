using System.Globalization;
using System.Text.Json;
using LlavaCot.Reasoning;

namespace LlavaCot.Training.Shapes;

/// <summary>One question of a dataset: what <c>llavacot eval</c> reads (JSONL, one object per line).</summary>
/// <param name="Image">The image's path, relative to the JSONL file.</param>
/// <param name="Response">The full tagged reference answer, when known.</param>
/// <param name="Type">The question template, for per-type accuracy.</param>
public sealed record DatasetItem(string Image, string Question, string Answer, string? Response = null, string? Type = null);

/// <summary>
/// Writes the shapes task: <c>images/NNNNNN.png</c> and <c>data.jsonl</c> with one question per image. The same seed
/// always writes the same files.
/// </summary>
public static class ShapeDataset
{
    public const string FileName = "data.jsonl";

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The scene, question and answer of item <paramref name="index"/> of the set drawn with <paramref name="seed"/>.</summary>
    public static (ShapeScene Scene, ShapeQuestion Question, ShapeAnswer Answer) Draw(ulong seed, int index)
    {
        var rng = ItemStream(seed, index);
        var scene = ShapeScene.Random(rng);
        var question = ShapeQuestion.Random(scene, rng);
        return (scene, question, ShapeAnswer.For(scene, question));
    }

    /// <summary>The scene alone of item <paramref name="index"/>, with at least <paramref name="minShapes"/> shapes.</summary>
    public static ShapeScene Scene(ulong seed, int index, int minShapes) => ShapeScene.Random(ItemStream(seed, index), minShapes);

    /// <summary>Each item has its own stream, so item k is the same whatever count was asked for.</summary>
    private static SeedStream ItemStream(ulong seed, int index) =>
        new(new SeedStream(seed).Next() ^ (ulong)index * 0x9E3779B97F4A7C15UL);

    /// <summary>Writes <paramref name="count"/> items into <paramref name="dir"/>; returns the JSONL path.</summary>
    public static string Write(string dir, int count, ulong seed, Action<int>? progress = null)
    {
        Directory.CreateDirectory(Path.Combine(dir, "images"));
        var path = Path.Combine(dir, FileName);
        using var writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
        for (var i = 0; i < count; i++)
        {
            var (scene, question, answer) = Draw(seed, i);
            var image = $"images/{i.ToString("D6", CultureInfo.InvariantCulture)}.png";
            File.WriteAllBytes(Path.Combine(dir, image), ShapeRenderer.Png(scene));
            writer.WriteLine(JsonSerializer.Serialize(new DatasetItem(image, question.Text, question.Answer(scene), answer.Text, question.Type), Json));
            progress?.Invoke(i + 1);
        }
        return path;
    }

    /// <summary>Reads a JSONL dataset; every line must hold image, question and answer.</summary>
    public static IReadOnlyList<DatasetItem> Read(string path)
    {
        var items = new List<DatasetItem>();
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
                continue;
            DatasetItem? item;
            try
            {
                item = JsonSerializer.Deserialize<DatasetItem>(text, Json);
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"{path}:{line}: not a JSON object: {ex.Message}", ex);
            }
            if (item is null || string.IsNullOrEmpty(item.Image) || string.IsNullOrEmpty(item.Question) || item.Answer is null)
                throw new InvalidDataException($"{path}:{line}: needs image, question and answer");
            items.Add(item);
        }
        return items;
    }
}
