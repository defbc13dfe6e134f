using System.Text;
using System.Text.Json.Nodes;
using LlavaCot.Model.IO;
using LlavaCot.Tests;

namespace LlavaCot.Model.Tests.IO;

/// <summary>Each corruption of a temp copy of the fixture weights gives an exception naming the file and tensor.</summary>
public class SafetensorsMalformedTests
{
    private static readonly string Weights = Fixtures.Path("mllama-tiny", "model.safetensors");

    private static SafetensorsException OpenFails(string path) =>
        Assert.Throws<SafetensorsException>(() => Checkpoint.Open(System.IO.Path.GetDirectoryName(path)!, System.IO.Path.GetFileName(path)).Dispose());

    [Fact]
    public void Header_length_past_end_of_file()
    {
        using var tmp = new TempDir();
        var st = SafetensorsBytes.Read(Weights);
        var header = Encoding.UTF8.GetBytes(st.Header.ToJsonString());
        var path = tmp.File("w.safetensors");
        st.Write(path, header, claimedLength: (ulong)(header.Length + st.Data.Length + 1));
        var ex = OpenFails(path);
        Assert.Contains(path, ex.Message);
        Assert.Contains("past the end of the file", ex.Message);
    }

    [Fact]
    public void Header_longer_than_100_MB()
    {
        using var tmp = new TempDir();
        var st = SafetensorsBytes.Read(Weights);
        var path = tmp.File("w.safetensors");
        st.Write(path, Encoding.UTF8.GetBytes(st.Header.ToJsonString()), claimedLength: 101UL * 1024 * 1024);
        var ex = OpenFails(path);
        Assert.Contains(path, ex.Message);
        Assert.Contains("exceeds", ex.Message);
    }

    [Fact]
    public void Header_that_is_not_json()
    {
        using var tmp = new TempDir();
        var st = SafetensorsBytes.Read(Weights);
        var path = tmp.File("w.safetensors");
        st.Write(path, Encoding.UTF8.GetBytes("{\"a\": [1, 2"));
        var ex = OpenFails(path);
        Assert.Contains(path, ex.Message);
        Assert.Contains("not valid JSON", ex.Message);
    }

    [Fact]
    public void Unknown_dtype()
    {
        var (ex, path, name) = Corrupt(t => t["dtype"] = "F8_E4M3");
        Assert.Contains(path, ex.Message);
        Assert.Contains($"'{name}'", ex.Message);
        Assert.Contains("unknown dtype 'F8_E4M3'", ex.Message);
    }

    [Fact]
    public void Offsets_outside_the_data_section()
    {
        var (ex, path, name) = Corrupt(t =>
        {
            var end = (long)t["data_offsets"]![1]!;
            t["data_offsets"] = new JsonArray(end + 1_000_000, end + 1_000_000 + (end - (long)t["data_offsets"]![0]!));
        });
        Assert.Contains(path, ex.Message);
        Assert.Contains($"'{name}'", ex.Message);
        Assert.Contains("outside the data section", ex.Message);
    }

    [Fact]
    public void Overlapping_tensors()
    {
        using var tmp = new TempDir();
        var st = SafetensorsBytes.Read(Weights);
        var names = st.Header.Select(p => p.Key).Where(k => k != "__metadata__")
            .OrderBy(k => (long)st.Tensor(k)["data_offsets"]![0]!).ToList();
        var (first, second) = (st.Tensor(names[0]), st.Tensor(names[1]));
        var secondLength = (long)second["data_offsets"]![1]! - (long)second["data_offsets"]![0]!;
        var firstStart = (long)first["data_offsets"]![0]!;
        second["data_offsets"] = new JsonArray(firstStart, firstStart + secondLength);
        var path = tmp.File("w.safetensors");
        st.Write(path);
        var ex = OpenFails(path);
        Assert.Contains(path, ex.Message);
        Assert.Contains("overlaps", ex.Message);
        Assert.Contains($"'{names[0]}'", ex.Message);
        Assert.Contains($"'{names[1]}'", ex.Message);
    }

    [Fact]
    public void Byte_size_that_disagrees_with_the_shape()
    {
        var (ex, path, name) = Corrupt(t =>
        {
            var shape = (JsonArray)t["shape"]!;
            shape[0] = (long)shape[0]! + 1;
        });
        Assert.Contains(path, ex.Message);
        Assert.Contains($"'{name}'", ex.Message);
        Assert.Contains("byte size", ex.Message);
    }

    [Fact]
    public void Shard_named_in_the_index_but_missing()
    {
        using var tmp = new TempDir();
        var src = Fixtures.Path("mllama-tiny", "sharded");
        File.Copy(System.IO.Path.Combine(src, Checkpoint.IndexFileName), tmp.File(Checkpoint.IndexFileName));
        var shards = Directory.GetFiles(src, "*.safetensors").Select(System.IO.Path.GetFileName).Order().ToList();
        File.Copy(System.IO.Path.Combine(src, shards[0]!), tmp.File(shards[0]!));
        var ex = Assert.Throws<SafetensorsException>(() => Checkpoint.Open(tmp.Path).Dispose());
        Assert.Contains(Checkpoint.IndexFileName, ex.Message);
        Assert.Contains($"'{shards[1]}'", ex.Message);
        Assert.Matches("holding tensor '[^']+'", ex.Message);
    }

    [Fact]
    public void Index_naming_a_tensor_its_shard_lacks()
    {
        using var tmp = new TempDir();
        var src = Fixtures.Path("mllama-tiny", "sharded");
        foreach (var f in Directory.GetFiles(src))
            File.Copy(f, tmp.File(System.IO.Path.GetFileName(f)));
        var index = JsonNode.Parse(File.ReadAllText(tmp.File(Checkpoint.IndexFileName)))!;
        var firstShard = index["weight_map"]!.AsObject().First().Value!.GetValue<string>();
        index["weight_map"]!["language_model.model.layers.99.extra.weight"] = firstShard;
        File.WriteAllText(tmp.File(Checkpoint.IndexFileName), index.ToJsonString());
        var ex = Assert.Throws<SafetensorsException>(() => Checkpoint.Open(tmp.Path).Dispose());
        Assert.Contains("'language_model.model.layers.99.extra.weight'", ex.Message);
        Assert.Contains(firstShard, ex.Message);
    }

    [Fact]
    public void Requesting_an_absent_tensor()
    {
        using var ckpt = Checkpoint.Open(Fixtures.MllamaTiny);
        var ex = Assert.Throws<SafetensorsException>(() => ckpt.Read("vision_model.no_such.weight"));
        Assert.Contains("'vision_model.no_such.weight'", ex.Message);
        Assert.Contains("model.safetensors", ex.Message);
    }

    [Fact]
    public void Folder_without_weights()
    {
        using var tmp = new TempDir();
        var ex = Assert.Throws<SafetensorsException>(() => Checkpoint.Open(tmp.Path).Dispose());
        Assert.Contains(tmp.Path, ex.Message);
        Assert.Contains(Checkpoint.SingleFileName, ex.Message);
    }

    [Fact]
    public void Truncated_data_section()
    {
        using var tmp = new TempDir();
        var st = SafetensorsBytes.Read(Weights);
        st.Data = st.Data[..(st.Data.Length / 2)];
        var path = tmp.File("w.safetensors");
        st.Write(path);
        var ex = OpenFails(path);
        Assert.Contains(path, ex.Message);
        Assert.Contains("outside the data section", ex.Message);
    }

    private static (SafetensorsException Ex, string Path, string Name) Corrupt(Action<JsonObject> edit)
    {
        using var tmp = new TempDir();
        var st = SafetensorsBytes.Read(Weights);
        var name = st.FirstTensorName;
        edit(st.Tensor(name));
        var path = tmp.File("w.safetensors");
        st.Write(path);
        return (OpenFails(path), path, name);
    }
}
