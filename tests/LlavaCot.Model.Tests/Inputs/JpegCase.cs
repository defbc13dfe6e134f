using System.Text.Json;
using LlavaCot.Tests;

namespace LlavaCot.Model.Tests.Inputs;

/// <summary>
/// One JPEG of Inputs/Jpeg with its Pillow golden (raw RGB after EXIF transpose), read from the folder's
/// manifest.json, which make_goldens.py writes.
/// </summary>
public sealed record JpegCase(string Name, int Width, int Height, IReadOnlyList<string> Properties)
{
    public static string Dir { get; } = System.IO.Path.Combine(Fixtures.RepoRoot, "tests", "LlavaCot.Model.Tests", "Inputs", "Jpeg");

    public static JsonElement Manifest { get; } = JsonDocument.Parse(File.ReadAllText(System.IO.Path.Combine(Dir, "manifest.json"))).RootElement;

    public static IEnumerable<object[]> Names() =>
        Manifest.GetProperty("cases").EnumerateArray().Select(c => new object[] { c.GetProperty("name").GetString()! });

    public static IEnumerable<JpegCase> All() => Names().Select(n => Load((string)n[0]));

    public static JpegCase Load(string name)
    {
        var c = Manifest.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        return new JpegCase(
            name,
            c.GetProperty("width").GetInt32(),
            c.GetProperty("height").GetInt32(),
            c.GetProperty("properties").EnumerateArray().Select(p => p.GetString()!).ToList());
    }

    public byte[] Jpeg => File.ReadAllBytes(System.IO.Path.Combine(Dir, Name + ".jpg"));

    public byte[] Golden => File.ReadAllBytes(System.IO.Path.Combine(Dir, Name + ".rgb"));
}
