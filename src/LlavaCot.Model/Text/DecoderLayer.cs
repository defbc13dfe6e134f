using static TorchSharp.torch;

namespace LlavaCot.Model.Text;

/// <summary>A layer of the text decoder: self-attention or cross-attention, at its own index in <c>layers</c>.</summary>
public abstract class DecoderLayer(string name) : nn.Module(name)
{
    public abstract Tensor Forward(Tensor x, DecoderContext context);
}
