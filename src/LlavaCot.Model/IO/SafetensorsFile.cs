using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.IO;

/// <summary>
/// One .safetensors file: the header is parsed and checked when opened, and each tensor is read with
/// positional reads straight into the memory of a freshly allocated tensor (no intermediate buffer).
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    // Span-based reads are limited to int.MaxValue bytes; larger tensors are filled in chunks.
    private const long ChunkBytes = 1L << 30;

    private readonly SafeFileHandle _handle;
    private readonly Dictionary<string, TensorEntry> _entries;

    public string Path { get; }
    public long Length { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyCollection<TensorEntry> Entries => _entries.Values;

    private SafetensorsFile(string path, SafeFileHandle handle, long length,
        Dictionary<string, TensorEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path;
        _handle = handle;
        Length = length;
        _entries = entries;
        Metadata = metadata;
    }

    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path))
            throw new SafetensorsException($"{path}: file not found");
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            var length = RandomAccess.GetLength(handle);
            var (entries, metadata) = ReadHeader(path, handle, length);
            return new SafetensorsFile(path, handle, length, entries, metadata);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _entries.ContainsKey(name);

    public TensorEntry Entry(string name) =>
        _entries.TryGetValue(name, out var e)
            ? e
            : throw new SafetensorsException($"{Path}: tensor '{name}' is not in this file");

    /// <summary>Reads a tensor, then converts it to <paramref name="dtype"/> and moves it to <paramref name="device"/> if given.</summary>
    public Tensor Read(string name, ScalarType? dtype = null, Device? device = null)
    {
        var entry = Entry(name);
        var t = empty(entry.Shape, SafetensorsDType.ScalarType(entry.DType));
        try
        {
            Fill(t, entry);
        }
        catch (Exception ex) when (ex is IOException or SafetensorsException)
        {
            t.Dispose();
            throw new SafetensorsException($"{Path}: reading tensor '{name}' failed: {ex.Message}", ex);
        }
        if (dtype is { } d && d != t.dtype)
            t = t.to(d, disposeAfter: true);
        if (device is { } dev && dev.type != DeviceType.CPU)
            t = t.to(dev, disposeAfter: true);
        return t;
    }

    private void Fill(Tensor t, TensorEntry entry)
    {
        if (entry.ByteLength == 0)
            return;
        if (entry.ByteLength <= ChunkBytes)
        {
            ReadExactly(t.bytes, entry.Start);
            return;
        }
        using var flat = t.view(-1);
        var elementSize = SafetensorsDType.ElementSize(entry.DType);
        var perChunk = ChunkBytes / elementSize;
        for (long first = 0; first < flat.shape[0]; first += perChunk)
        {
            var count = Math.Min(perChunk, flat.shape[0] - first);
            using var part = flat.narrow(0, first, count);
            ReadExactly(part.bytes, entry.Start + first * elementSize);
        }
    }

    private void ReadExactly(Span<byte> target, long offset)
    {
        while (!target.IsEmpty)
        {
            var n = RandomAccess.Read(_handle, target, offset);
            if (n <= 0)
                throw new SafetensorsException($"{Path}: unexpected end of file at byte {offset}");
            target = target[n..];
            offset += n;
        }
    }

    public void Dispose() => _handle.Dispose();

    private static (Dictionary<string, TensorEntry>, Dictionary<string, string>) ReadHeader(
        string path, SafeFileHandle handle, long fileLength)
    {
        if (fileLength < 8)
            throw new SafetensorsException($"{path}: file is {fileLength} bytes, too short for a safetensors header");
        Span<byte> prefix = stackalloc byte[8];
        RandomAccess.Read(handle, prefix, 0);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderBytes)
            throw new SafetensorsException($"{path}: header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit");
        if ((long)headerLength > fileLength - 8)
            throw new SafetensorsException($"{path}: header length {headerLength} runs past the end of the file ({fileLength} bytes)");

        var json = new byte[headerLength];
        var read = 0;
        while (read < json.Length)
        {
            var n = RandomAccess.Read(handle, json.AsSpan(read), 8 + read);
            if (n <= 0)
                throw new SafetensorsException($"{path}: unexpected end of file inside the header");
            read += n;
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new SafetensorsException($"{path}: header is not valid JSON: {ex.Message}", ex);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new SafetensorsException($"{path}: header must be a JSON object");
            var dataStart = 8 + (long)headerLength;
            var dataLength = fileLength - dataStart;
            var entries = new Dictionary<string, TensorEntry>();
            var metadata = new Dictionary<string, string>();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    ReadMetadata(path, prop.Value, metadata);
                    continue;
                }
                entries[prop.Name] = ParseEntry(path, prop.Name, prop.Value, dataStart, dataLength);
            }
            CheckNoOverlap(path, entries.Values);
            return (entries, metadata);
        }
    }

    private static void ReadMetadata(string path, JsonElement el, Dictionary<string, string> metadata)
    {
        if (el.ValueKind != JsonValueKind.Object)
            throw new SafetensorsException($"{path}: __metadata__ must be an object of strings");
        foreach (var p in el.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw new SafetensorsException($"{path}: __metadata__ value '{p.Name}' must be a string");
            metadata[p.Name] = p.Value.GetString()!;
        }
    }

    private static TensorEntry ParseEntry(string path, string name, JsonElement el, long dataStart, long dataLength)
    {
        string Where() => $"{path}: tensor '{name}'";
        if (el.ValueKind != JsonValueKind.Object)
            throw new SafetensorsException($"{Where()}: entry must be an object");
        if (!el.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new SafetensorsException($"{Where()}: missing dtype");
        var dtype = dt.GetString()!;
        if (!SafetensorsDType.IsKnown(dtype))
            throw new SafetensorsException(
                $"{Where()}: unknown dtype '{dtype}' (supported: {string.Join(", ", SafetensorsDType.Names)})");

        var shape = ReadLongs(el, "shape", Where);
        var offsets = ReadLongs(el, "data_offsets", Where);
        if (offsets.Length != 2)
            throw new SafetensorsException($"{Where()}: data_offsets must hold two numbers");
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin > end || end > dataLength)
            throw new SafetensorsException(
                $"{Where()}: data_offsets [{begin}, {end}] lie outside the data section ({dataLength} bytes)");

        long elements;
        try
        {
            elements = shape.Aggregate(1L, (a, b) => checked(a * b));
            var expected = checked(elements * SafetensorsDType.ElementSize(dtype));
            if (end - begin != expected)
                throw new SafetensorsException(
                    $"{Where()}: byte size {end - begin} != {elements} elements × {SafetensorsDType.ElementSize(dtype)} bytes ({dtype}, shape [{string.Join(", ", shape)}])");
        }
        catch (OverflowException)
        {
            throw new SafetensorsException($"{Where()}: shape [{string.Join(", ", shape)}] is too large");
        }
        return new TensorEntry(name, dtype, shape, dataStart + begin, dataStart + end);
    }

    private static long[] ReadLongs(JsonElement el, string key, Func<string> where)
    {
        if (!el.TryGetProperty(key, out var arr) || arr.ValueKind != JsonValueKind.Array)
            throw new SafetensorsException($"{where()}: missing {key}");
        var result = new long[arr.GetArrayLength()];
        var i = 0;
        foreach (var v in arr.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var x) || x < 0)
                throw new SafetensorsException($"{where()}: {key} must hold non-negative integers");
            result[i++] = x;
        }
        return result;
    }

    private static void CheckNoOverlap(string path, IEnumerable<TensorEntry> entries)
    {
        TensorEntry? previous = null;
        foreach (var e in entries.Where(e => e.ByteLength > 0).OrderBy(e => e.Start))
        {
            if (previous is not null && e.Start < previous.End)
                throw new SafetensorsException(
                    $"{path}: tensor '{e.Name}' overlaps tensor '{previous.Name}' in the data section");
            previous = e;
        }
    }
}
