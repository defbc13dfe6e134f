using System.Buffers.Binary;
using LlavaCot.Model.IO;
using LlavaCot.Tests;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.IO;

/// <summary>Every supported dtype, written byte by byte here and read back as the right torch type and values.</summary>
public class SafetensorsDTypeTests
{
    [Fact]
    public void All_supported_dtypes_round_trip()
    {
        using var tmp = new TempDir();
        var st = SafetensorsBytes.Empty();
        double[] values = [-2.5, 0, 1, 3.75];
        st.Add("f64", "F64", [2, 2], Bytes(values, 8, (b, v) => BinaryPrimitives.WriteDoubleLittleEndian(b, v)));
        st.Add("f32", "F32", [4], Bytes(values, 4, (b, v) => BinaryPrimitives.WriteSingleLittleEndian(b, (float)v)));
        st.Add("f16", "F16", [4], Bytes(values, 2, (b, v) => BinaryPrimitives.WriteHalfLittleEndian(b, (Half)v)));
        // bf16 = the upper 16 bits of the float32 pattern (exact for these values).
        st.Add("bf16", "BF16", [4], Bytes(values, 2, (b, v) =>
            BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)(BitConverter.SingleToUInt32Bits((float)v) >> 16))));
        st.Add("i64", "I64", [4], Bytes([-5L, 0, 7, long.MaxValue], 8, (b, v) => BinaryPrimitives.WriteInt64LittleEndian(b, v)));
        st.Add("i32", "I32", [4], Bytes([-5, 0, 7, int.MinValue], 4, (b, v) => BinaryPrimitives.WriteInt32LittleEndian(b, v)));
        st.Add("u8", "U8", [4], [0, 1, 128, 255]);
        st.Add("bool", "BOOL", [4], [1, 0, 0, 1]);
        st.Add("empty", "F32", [0, 3], []);
        var path = tmp.File("all.safetensors");
        st.Write(path);

        using var file = SafetensorsFile.Open(path);
        using var scope = NewDisposeScope();
        var f64 = file.Read("f64");
        Assert.Equal(ScalarType.Float64, f64.dtype);
        Assert.Equal(values, f64.data<double>().ToArray());
        foreach (var (name, type) in new[] { ("f32", ScalarType.Float32), ("f16", ScalarType.Float16), ("bf16", ScalarType.BFloat16) })
        {
            var t = file.Read(name);
            Assert.Equal(type, t.dtype);
            Assert.Equal(values, t.to(ScalarType.Float64).data<double>().ToArray());
        }
        Assert.Equal(new[] { -5L, 0, 7, long.MaxValue }, file.Read("i64").data<long>().ToArray());
        var i32 = file.Read("i32");
        Assert.Equal(ScalarType.Int32, i32.dtype);
        Assert.Equal(new[] { -5, 0, 7, int.MinValue }, i32.data<int>().ToArray());
        Assert.Equal(new byte[] { 0, 1, 128, 255 }, file.Read("u8").data<byte>().ToArray());
        var flags = file.Read("bool");
        Assert.Equal(ScalarType.Bool, flags.dtype);
        Assert.Equal(new[] { true, false, false, true }, flags.data<bool>().ToArray());
        Assert.Equal(new long[] { 0, 3 }, file.Read("empty").shape);
    }

    private delegate void Writer<in T>(Span<byte> target, T value);

    private static byte[] Bytes<T>(T[] values, int size, Writer<T> write)
    {
        var result = new byte[values.Length * size];
        for (var i = 0; i < values.Length; i++)
            write(result.AsSpan(i * size, size), values[i]);
        return result;
    }
}
