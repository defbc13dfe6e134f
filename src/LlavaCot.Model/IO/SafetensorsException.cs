namespace LlavaCot.Model.IO;

/// <summary>A weights file or shard index that cannot be read; the message names the file and, where it applies, the tensor.</summary>
public sealed class SafetensorsException(string message, Exception? inner = null) : Exception(message, inner);
