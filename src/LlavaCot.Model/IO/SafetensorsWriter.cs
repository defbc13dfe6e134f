using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.IO;

/// <summary>
/// Writes CPU tensors as a .safetensors file in the layout HF's writer uses: u64 header length, JSON header
/// (optional <c>__metadata__</c>, then dtype/shape/data_offsets per tensor) padded with spaces to a multiple
/// of 8, then the raw little-endian data, tensors ordered by element size (largest first) and name.
/// </summary>
public static class SafetensorsWriter
{
    // Tensor.bytes spans are limited to int.MaxValue bytes; larger tensors are written in chunks.
    private const long ChunkBytes = 1L << 30;

    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = tensors
            .Select(p => (Name: p.Key, Tensor: p.Value, DType: DTypeName(p.Key, p.Value)))
            .OrderByDescending(e => SafetensorsDType.ElementSize(e.DType))
            .ThenBy(e => e.Name, StringComparer.Ordinal)
            .ToList();
        var header = Header(entries, metadata);
        try
        {
            using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            file.Write(length);
            file.Write(header);
            foreach (var e in entries)
                WriteData(file, e.Tensor);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    private static string DTypeName(string name, Tensor t)
    {
        if (name == "__metadata__")
            throw new SafetensorsException("'__metadata__' is reserved and cannot name a tensor");
        if (t.device_type != DeviceType.CPU)
            throw new SafetensorsException($"tensor '{name}' is on {t.device}; move it to the CPU first");
        return SafetensorsDType.NameOf(t.dtype)
            ?? throw new SafetensorsException($"tensor '{name}': dtype {t.dtype} has no safetensors name here");
    }

    private static byte[] Header(List<(string Name, Tensor Tensor, string DType)> entries,
        IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata)
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor, dtype) in entries)
            {
                var bytes = tensor.numel() * SafetensorsDType.ElementSize(dtype);
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (var d in tensor.shape)
                    json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        var padding = (8 - buffer.Length % 8) % 8;
        buffer.Write(Encoding.ASCII.GetBytes(new string(' ', (int)padding)));
        return buffer.ToArray();
    }

    private static void WriteData(Stream file, Tensor tensor)
    {
        if (tensor.numel() == 0)
            return;
        using var scope = NewDisposeScope();
        var flat = tensor.contiguous().view(-1);
        var perChunk = Math.Max(1, ChunkBytes / flat.element_size());
        for (long first = 0; first < flat.shape[0]; first += perChunk)
            file.Write(flat.narrow(0, first, Math.Min(perChunk, flat.shape[0] - first)).bytes);
    }
}
