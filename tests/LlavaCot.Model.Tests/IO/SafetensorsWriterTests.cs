using System.Buffers.Binary;
using System.Text.Json;
using LlavaCot.Model.IO;
using LlavaCot.Tests;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.IO;

public class SafetensorsWriterTests
{
    [Fact]
    public void Written_tensors_read_back_identically()
    {
        using var scope = NewDisposeScope();
        using var tmp = new TempDir();
        var path = tmp.File("t.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = randn(3, 4),
            ["f64"] = randn(2).to(ScalarType.Float64),
            ["bf16"] = randn(5).to(ScalarType.BFloat16),
            ["i64"] = tensor(new long[] { 1, -2, long.MaxValue }),
            ["u8"] = tensor(new byte[] { 0, 7, 255 }).reshape(1, 3),
            ["bool"] = tensor(new[] { true, false }),
            ["scalar"] = tensor(2.5f),
            ["empty"] = zeros(0, 3),
            ["transposed"] = arange(6, ScalarType.Float32).reshape(2, 3).t(),
        };

        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });

        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(tensors.Count, file.Entries.Count);
        foreach (var (name, expected) in tensors)
        {
            var actual = file.Read(name);
            Assert.Equal(expected.dtype, actual.dtype);
            TensorAssert.Equal(expected, actual, name);
        }
    }

    [Fact]
    public void The_header_is_padded_to_8_bytes_and_data_is_ordered_by_element_size_then_name()
    {
        using var scope = NewDisposeScope();
        using var tmp = new TempDir();
        var path = tmp.File("t.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor>
        {
            ["a_u8"] = ones(3, ScalarType.Byte),
            ["b_f32"] = ones(1),
            ["a_f32"] = ones(2),
            ["z_i64"] = ones(1, ScalarType.Int64),
        });

        var raw = File.ReadAllBytes(path);
        var n = (long)BinaryPrimitives.ReadUInt64LittleEndian(raw);
        Assert.Equal(0, (8 + n) % 8);
        var header = JsonDocument.Parse(raw.AsMemory(8, (int)n)).RootElement;
        var order = header.EnumerateObject()
            .OrderBy(p => p.Value.GetProperty("data_offsets")[0].GetInt64())
            .Select(p => p.Name);
        Assert.Equal(["z_i64", "a_f32", "b_f32", "a_u8"], order);
        Assert.Equal(8 + n + 8 + 8 + 4 + 3, raw.Length);
    }

    [Fact]
    public void Reserved_names_and_unnamed_dtypes_are_refused_without_leaving_a_file()
    {
        using var scope = NewDisposeScope();
        using var tmp = new TempDir();
        var path = tmp.File("t.safetensors");
        Assert.Throws<SafetensorsException>(() =>
            SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["__metadata__"] = ones(1) }));
        Assert.Throws<SafetensorsException>(() =>
            SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["c"] = ones(1, ScalarType.ComplexFloat32) }));
        Assert.False(File.Exists(path));
    }
}
