using LlavaCot.Model.Config;
using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Text;

/// <summary>
/// Rotate-half RoPE with llama3 frequency scaling, computed in fp32 the way HF does (any position is allowed;
/// max_position_embeddings does not bound it), then cast to the compute dtype.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    private readonly Tensor _inverseFrequencies;

    public RotaryEmbedding(MllamaTextConfig c, Device device)
    {
        using var scope = NewDisposeScope();
        var dim = c.HeadDim;
        var exponents = arange(0, dim, 2, ScalarType.Int64, device).to(ScalarType.Float32) / dim;
        var inv = 1.0f / pow(tensor((float)c.RopeTheta, ScalarType.Float32, device), exponents);
        if (c.RopeScaling is { RopeType: "llama3" } s)
            inv = Llama3Scaling(inv, s);
        _inverseFrequencies = inv.DetachFromDisposeScope();
    }

    private static Tensor Llama3Scaling(Tensor inv, RopeScaling s)
    {
        var lowFreqWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
        var highFreqWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
        var wavelen = 2 * Math.PI / inv;
        // Long wavelengths are slowed down by the factor, short ones kept, the band between blended smoothly.
        var scaled = where(wavelen > lowFreqWavelen, inv / s.Factor, inv);
        var smooth = (s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
        var blended = (1 - smooth) * scaled / s.Factor + smooth * scaled;
        var medium = (wavelen >= highFreqWavelen).logical_and(wavelen <= lowFreqWavelen);
        return where(medium, blended, scaled);
    }

    /// <summary>cos and sin for positions start..start+n-1, each [n, head_dim], in <paramref name="dtype"/>.</summary>
    public (Tensor Cos, Tensor Sin) At(long start, long n, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var positions = arange(start, start + n, 1, ScalarType.Int64, _inverseFrequencies.device).to(ScalarType.Float32);
        var freqs = positions.unsqueeze(1) * _inverseFrequencies.unsqueeze(0);
        var emb = cat([freqs, freqs], -1);
        return (emb.cos().to(dtype).MoveToOuterDisposeScope(), emb.sin().to(dtype).MoveToOuterDisposeScope());
    }

    /// <summary>cos and sin for one new token per row at the given positions, each [B, 1, 1, head_dim].</summary>
    public (Tensor Cos, Tensor Sin) AtRows(IReadOnlyList<long> positions, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var p = tensor(positions.ToArray(), ScalarType.Int64, _inverseFrequencies.device).to(ScalarType.Float32);
        var freqs = p.unsqueeze(1) * _inverseFrequencies.unsqueeze(0);
        var emb = cat([freqs, freqs], -1).view(positions.Count, 1, 1, -1);
        return (emb.cos().to(dtype).MoveToOuterDisposeScope(), emb.sin().to(dtype).MoveToOuterDisposeScope());
    }

    /// <summary>x·cos + rotate_half(x)·sin over the last axis of [B, H, n, d] (cos, sin broadcast: [n, d] or [B, 1, n, d]).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var half = x.shape[^1] / 2;
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
        return (x * cos).Plus(rotated * sin).MoveToOuterDisposeScope();
    }

    public void Dispose() => _inverseFrequencies.Dispose();
}
