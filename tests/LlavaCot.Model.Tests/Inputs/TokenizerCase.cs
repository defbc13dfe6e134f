using System.Text.Json;
using LlavaCot.Tests;

namespace LlavaCot.Model.Tests.Inputs;

/// <summary>One entry of llama3-tokenizer/cases.json, read at run time so another file of the same format can be swapped in.</summary>
public sealed record TokenizerCase(string Text, int[] Ids, string Decoded, string DecodedClean)
{
    private const string Folder = "llama3-tokenizer";

    private static readonly Lazy<TokenizerCase[]> All = new(Read);

    public static IReadOnlyList<TokenizerCase> Cases => All.Value;

    /// <summary>Case indices for [MemberData]; without the tokenizer fixtures one index, whose test then skips saying why.</summary>
    public static TheoryData<int> Indices()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < (Fixtures.Has(Folder) ? Cases.Count : 1); i++)
            data.Add(i);
        return data;
    }

    private static TokenizerCase[] Read()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path(Folder, "cases.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => new TokenizerCase(
            c.GetProperty("text").GetString()!,
            c.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            c.GetProperty("decoded").GetString()!,
            c.GetProperty("decoded_clean").GetString()!)).ToArray();
    }
}
