using LlavaCot.Model.Config;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Vision;

/// <summary>A stack of encoder layers (the local "transformer" or the gated "global_transformer").</summary>
public sealed class VisionEncoder : nn.Module
{
    private readonly TorchSharp.Modules.ModuleList<VisionEncoderLayer> layers;

    public VisionEncoder(WeightScope w, MllamaVisionConfig c, int count, bool gated) : base(nameof(VisionEncoder))
    {
        layers = new TorchSharp.Modules.ModuleList<VisionEncoderLayer>(
            Enumerable.Range(0, count).Select(i => new VisionEncoderLayer(w["layers"][i.ToString()], c, gated)).ToArray());
        RegisterComponents();
    }

    public int Count => layers.Count;

    public VisionEncoderLayer this[int index] => layers[index];
}
