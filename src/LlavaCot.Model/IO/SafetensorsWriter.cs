using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.IO;

/// <summary>A tensor a file will hold: known by name, shape and dtype before its values exist.</summary>
public sealed record PlannedTensor(string Name, long[] Shape, ScalarType DType)
{
    public long Bytes => Shape.Aggregate(1L, (a, b) => a * b) * SafetensorsDType.ElementSize(DTypeName);

    public string DTypeName => SafetensorsDType.NameOf(DType) ?? throw new SafetensorsException($"tensor '{Name}': dtype {DType} has no safetensors name here");
}

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
        foreach (var (name, t) in tensors)
        {
            if (t.device_type != DeviceType.CPU)
                throw new SafetensorsException($"tensor '{name}' is on {t.device}; move it to the CPU first");
        }
        Write(path, tensors.Select(p => new PlannedTensor(p.Key, p.Value.shape, p.Value.dtype)).ToList(), p => tensors[p.Name], metadata,
            disposeEach: false);
    }

    /// <summary>
    /// Writes the planned tensors, asking <paramref name="produce"/> for each only when its turn comes (with
    /// <paramref name="disposeEach"/>, each is freed once written): a file larger than memory can be written.
    /// </summary>
    public static void Write(string path, IReadOnlyList<PlannedTensor> plan, Func<PlannedTensor, Tensor> produce,
        IReadOnlyDictionary<string, string>? metadata, bool disposeEach, Action<long>? written = null)
    {
        foreach (var p in plan.Where(p => p.Name == "__metadata__"))
            throw new SafetensorsException("'__metadata__' is reserved and cannot name a tensor");
        var entries = plan
            .OrderByDescending(p => SafetensorsDType.ElementSize(p.DTypeName))
            .ThenBy(p => p.Name, StringComparer.Ordinal)
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
            {
                var tensor = produce(e);
                try
                {
                    if (tensor.dtype != e.DType || !tensor.shape.SequenceEqual(e.Shape) || tensor.device_type != DeviceType.CPU)
                        throw new SafetensorsException($"tensor '{e.Name}': got {tensor.dtype} [{string.Join(", ", tensor.shape)}] on {tensor.device}, " +
                                                       $"planned {e.DType} [{string.Join(", ", e.Shape)}] on the CPU");
                    WriteData(file, tensor);
                }
                finally
                {
                    if (disposeEach)
                        tensor.Dispose();
                }
                written?.Invoke(e.Bytes);
            }
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    private static byte[] Header(List<PlannedTensor> entries, IReadOnlyDictionary<string, string>? metadata)
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
            foreach (var entry in entries)
            {
                var bytes = entry.Bytes;
                json.WriteStartObject(entry.Name);
                json.WriteString("dtype", entry.DTypeName);
                json.WriteStartArray("shape");
                foreach (var d in entry.Shape)
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
