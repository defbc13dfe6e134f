namespace LlavaCot.Model.Inputs;

/// <summary>
/// The text positions one image is visible from: [Start, End). End is -1 for "to the end of the (padded) batch",
/// which HF writes when a sequence holds a single image token.
/// </summary>
public readonly record struct ImageTokenSpan(int Start, int End);
