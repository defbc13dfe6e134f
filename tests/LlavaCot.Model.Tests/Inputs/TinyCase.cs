using System.Text.Json;
using LlavaCot.Tests;

namespace LlavaCot.Model.Tests.Inputs;

/// <summary>One model case of the mllama-tiny manifest: its prompt pieces, ids, tile counts and sparse ranges.</summary>
public sealed record TinyCase(string Name, string[] PromptSegments, int[] InputIds, int[][] NumTiles, int[][] Ranges)
{
    private static readonly Lazy<TinyCase[]> All = new(Read);

    public static IReadOnlyList<TinyCase> Cases => All.Value;

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases)
            data.Add(c.Name);
        return data;
    }

    public static TinyCase Get(string name) => Cases.Single(c => c.Name == name);

    private static TinyCase[] Read()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("mllama-tiny", "manifest.json")));
        static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => new TinyCase(
            c.GetProperty("name").GetString()!,
            c.GetProperty("prompt_segments").EnumerateArray().Select(s => s.GetString()!).ToArray(),
            Ints(c.GetProperty("input_ids")),
            c.GetProperty("num_tiles").EnumerateArray().Select(Ints).ToArray(),
            c.GetProperty("cross_attention_token_ranges").EnumerateArray().Select(Ints).ToArray())).ToArray();
    }
}
