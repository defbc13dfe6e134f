using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace LlavaCot.Model.Tests.IO;

/// <summary>A safetensors file split into its JSON header and data section, for writing corrupted copies.</summary>
internal sealed class SafetensorsBytes
{
    public JsonObject Header { get; }
    public byte[] Data { get; set; }

    private SafetensorsBytes(JsonObject header, byte[] data)
    {
        Header = header;
        Data = data;
    }

    public static SafetensorsBytes Read(string path)
    {
        var raw = File.ReadAllBytes(path);
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(raw);
        var header = (JsonObject)JsonNode.Parse(raw.AsSpan(8, n))!;
        return new SafetensorsBytes(header, raw[(8 + n)..]);
    }

    public static SafetensorsBytes Empty() => new(new JsonObject(), []);

    /// <summary>Appends a tensor with the given dtype, shape and raw bytes.</summary>
    public void Add(string name, string dtype, long[] shape, byte[] bytes)
    {
        var start = Data.Length;
        Data = [.. Data, .. bytes];
        Header[name] = new JsonObject
        {
            ["dtype"] = dtype,
            ["shape"] = new JsonArray(shape.Select(s => (JsonNode)s).ToArray()),
            ["data_offsets"] = new JsonArray(start, start + bytes.Length),
        };
    }

    public JsonObject Tensor(string name) => (JsonObject)Header[name]!;

    public string FirstTensorName => Header.Select(p => p.Key).First(k => k != "__metadata__");

    public void Write(string path) => Write(path, Encoding.UTF8.GetBytes(Header.ToJsonString()));

    public void Write(string path, byte[] headerBytes, ulong? claimedLength = null)
    {
        using var f = File.Create(path);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, claimedLength ?? (ulong)headerBytes.Length);
        f.Write(prefix);
        f.Write(headerBytes);
        f.Write(Data);
    }
}
