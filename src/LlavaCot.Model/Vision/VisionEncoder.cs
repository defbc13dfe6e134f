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

    /// <summary>
    /// Runs every layer. Hidden state k is the input of layer k (k = Count is the output); the states whose
    /// index is in <paramref name="keep"/> are returned in <paramref name="kept"/>, the others freed at once.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor mask, ICollection<int>? keep = null, IDictionary<int, Tensor>? kept = null)
    {
        var input = x;
        if (keep?.Contains(0) == true)
            kept![0] = x;
        for (var i = 0; i < layers.Count; i++)
        {
            var next = layers[i].Forward(x, mask);
            if (!ReferenceEquals(x, input) && keep?.Contains(i) != true)
                x.Dispose();
            x = next;
            if (keep?.Contains(i + 1) == true)
                kept![i + 1] = x;
        }
        return x;
    }
}
