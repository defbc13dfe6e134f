using System.Buffers.Binary;
using System.Text.Json;
using LlavaCot.Model.IO;
using LlavaCot.Tests;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.IO;

public class SafetensorsReadTests
{
    [Fact]
    public void Single_and_sharded_checkpoints_hold_identical_tensors()
    {
        using var single = Checkpoint.Open(Fixtures.MllamaTiny);
        using var sharded = Checkpoint.Open(Fixtures.Path("mllama-tiny", "sharded"));
        Assert.Equal(2, sharded.Files.Count);
        Assert.Equal(single.Names.OrderBy(n => n), sharded.Names.OrderBy(n => n));
        using var scope = NewDisposeScope();
        foreach (var name in single.Names)
        {
            var a = single.Read(name);
            var b = sharded.Read(name);
            Assert.Equal(ScalarType.Float32, a.dtype);
            Assert.Equal(single.Entry(name).Shape, a.shape);
            TensorAssert.Equal(a, b, name);
        }
    }

    [Fact]
    public void Bf16_file_upcast_equals_fp32_rounded_to_bf16()
    {
        using var fp32 = Checkpoint.Open(Fixtures.MllamaTiny);
        using var bf16 = Checkpoint.Open(Fixtures.MllamaTiny, "model.bf16.safetensors");
        Assert.Equal(fp32.Names.OrderBy(n => n), bf16.Names.OrderBy(n => n));
        using var scope = NewDisposeScope();
        foreach (var name in fp32.Names)
        {
            Assert.Equal("BF16", bf16.Entry(name).DType);
            var exact = fp32.Read(name);
            var upcast = bf16.Read(name, ScalarType.Float32);
            Assert.Equal(ScalarType.Float32, upcast.dtype);
            // bf16 keeps 8 significant bits: round-to-nearest is within the unit roundoff 2^-8, relative.
            var tolerance = exact.abs() * Math.Pow(2, -8) + 1e-30;
            Assert.True((upcast - exact).abs().le(tolerance).all().item<bool>(), $"{name} off by more than bf16 rounding");
            TensorAssert.Equal(exact.to(ScalarType.BFloat16), bf16.Read(name), $"{name} as round-to-nearest-even bf16");
        }
    }

    [Fact]
    public void Weight_loading_converts_to_the_requested_dtype()
    {
        using var ckpt = Checkpoint.Open(Fixtures.MllamaTiny);
        var name = ckpt.Names.First();
        using var asBf16 = ckpt.Read(name, ScalarType.BFloat16);
        using var asF64 = ckpt.Read(name, ScalarType.Float64);
        Assert.Equal(ScalarType.BFloat16, asBf16.dtype);
        Assert.Equal(ScalarType.Float64, asF64.dtype);
    }

    public static TheoryData<string> FixtureTensorFiles()
    {
        var data = new TheoryData<string>();
        foreach (var folder in new[] { "mllama-tiny/cases", "mllama-tiny/preprocess", "mllama-realscale-preprocess" })
        {
            var top = folder.Split('/')[0];
            // A missing folder gives one row, whose test then skips saying why.
            if (!Fixtures.Has(top))
                data.Add(top);
            else
                foreach (var f in Directory.GetFiles(Fixtures.Path(folder), "*.safetensors").OrderBy(f => f))
                    data.Add(System.IO.Path.Join(top, System.IO.Path.GetRelativePath(Fixtures.Path(top), f)));
        }
        return data;
    }

    /// <summary>Every tensor's values equal the little-endian numbers decoded independently from the file's bytes.</summary>
    [SkippableTheory]
    [Trait(Category.Name, Category.Fixtures)]
    [MemberData(nameof(FixtureTensorFiles))]
    public void Every_tensor_reads_exactly_its_stored_values(string relative)
    {
        var path = Fixtures.Path(relative);
        var raw = File.ReadAllBytes(path);
        using var file = SafetensorsFile.Open(path);
        Assert.NotEmpty(file.Entries);
        foreach (var e in file.Entries)
        {
            using var t = file.Read(e.Name);
            Assert.Equal(e.Shape, t.shape);
            var bytes = raw.AsSpan((int)e.Start, (int)e.ByteLength);
            switch (e.DType)
            {
                case "I64":
                    Assert.Equal(Decode(bytes, 8, b => BinaryPrimitives.ReadInt64LittleEndian(b)), t.data<long>().ToArray());
                    break;
                case "U8":
                    Assert.Equal(bytes.ToArray(), t.data<byte>().ToArray());
                    break;
                case "F64":
                    Assert.Equal(Decode(bytes, 8, b => BinaryPrimitives.ReadDoubleLittleEndian(b)), t.data<double>().ToArray());
                    break;
                case "F32":
                    Assert.Equal(Decode(bytes, 4, b => BinaryPrimitives.ReadSingleLittleEndian(b)), t.data<float>().ToArray());
                    break;
                default:
                    Assert.Fail($"{relative}: unexpected dtype {e.DType} for {e.Name}");
                    break;
            }
        }
    }

    [Fact]
    public void Case_input_ids_match_the_manifest()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("mllama-tiny", "manifest.json")));
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            using var file = SafetensorsFile.Open(Fixtures.Path("mllama-tiny", "cases", c.GetProperty("name").GetString() + ".safetensors"));
            using var ids = file.Read("input_ids");
            Assert.Equal(ScalarType.Int64, ids.dtype);
            Assert.Equal(c.GetProperty("input_ids").EnumerateArray().Select(x => x.GetInt64()), ids.data<long>().ToArray());
            using var generated = file.Read("generated_new_ids");
            Assert.Equal(c.GetProperty("generated_new_ids").EnumerateArray().Select(x => x.GetInt64()), generated.data<long>().ToArray());
        }
    }

    [SkippableFact]
    [Trait(Category.Name, Category.Fixtures)]
    public void Preprocess_u8_images_have_the_manifest_sizes()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("mllama-realscale-preprocess", "manifest.json")));
        foreach (var image in doc.RootElement.EnumerateObject())
        {
            using var file = SafetensorsFile.Open(Fixtures.Path("mllama-realscale-preprocess", image.Name + ".safetensors"));
            using var resized = file.Read("resized_u8");
            var hw = image.Value.GetProperty("resized_hw").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            Assert.Equal(ScalarType.Byte, resized.dtype);
            Assert.Equal(new[] { hw[0], hw[1], 3L }, resized.shape);
        }
    }

    private static T[] Decode<T>(ReadOnlySpan<byte> bytes, int size, Func<ReadOnlySpan<byte>, T> read)
    {
        var result = new T[bytes.Length / size];
        for (var i = 0; i < result.Length; i++)
            result[i] = read(bytes.Slice(i * size, size));
        return result;
    }
}
