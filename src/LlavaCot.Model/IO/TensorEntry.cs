namespace LlavaCot.Model.IO;

/// <summary>One tensor's header entry; offsets are absolute positions in the file.</summary>
public sealed record TensorEntry(string Name, string DType, long[] Shape, long Start, long End)
{
    public long ByteLength => End - Start;

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}
