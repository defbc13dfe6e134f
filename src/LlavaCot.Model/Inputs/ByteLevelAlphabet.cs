namespace LlavaCot.Model.Inputs;

/// <summary>
/// GPT-2's byte ↔ character table that byte-level BPE vocabularies (tokenizer.json <c>model.vocab</c>) are written
/// in: printable Latin-1 bytes stand for themselves, the other 68 bytes take the characters from U+0100 on, in
/// byte order (space → 'Ġ', newline → 'Ċ').
/// </summary>
public static class ByteLevelAlphabet
{
    // Indexed by character; -1 where a character stands for no byte. The table ends at U+0143.
    private static readonly short[] CharToByte = Build();

    private static readonly char[] ByteToChar = Invert(CharToByte);

    private static char[] Invert(short[] charToByte)
    {
        var chars = new char[256];
        for (var c = 0; c < charToByte.Length; c++)
        {
            if (charToByte[c] >= 0)
                chars[charToByte[c]] = (char)c;
        }
        return chars;
    }

    /// <summary>How a vocabulary entry writes <paramref name="bytes"/> (the inverse of <see cref="ToBytes"/>).</summary>
    public static string ToText(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
            chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    private static short[] Build()
    {
        var map = new short[256 + 68];
        Array.Fill(map, (short)-1);
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[printable ? b : next++] = (short)b;
        }
        return map;
    }

    /// <summary>The bytes a vocabulary entry stands for, or null when it holds a character outside the table.</summary>
    public static byte[]? ToBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            var c = token[i];
            if (c >= CharToByte.Length || CharToByte[c] < 0)
                return null;
            bytes[i] = (byte)CharToByte[c];
        }
        return bytes;
    }
}
