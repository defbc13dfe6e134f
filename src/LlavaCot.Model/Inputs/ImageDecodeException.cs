namespace LlavaCot.Model.Inputs;

/// <summary>Image bytes that cannot become model input: empty, not an image, an unsupported format, truncated,
/// corrupt, too large, or of a shape the processor cannot tile. The message says which.</summary>
public sealed class ImageDecodeException(string message, Exception? inner = null) : Exception(message, inner);
