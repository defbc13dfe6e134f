using static TorchSharp.torch;

namespace LlavaCot.Model;

/// <summary>
/// How closely a model's logits follow a reference's over the same positions: how often the top-1 token agrees, and
/// the relative RMS error (RMS of the difference over RMS of the reference), summed over every position added.
/// </summary>
public sealed class LogitAgreement
{
    private double _squaredError;
    private double _squaredReference;

    public long Positions { get; private set; }
    public long Agreeing { get; private set; }

    public double Agreement => Positions == 0 ? 0 : (double)Agreeing / Positions;
    public double RelativeRms => _squaredReference == 0 ? 0 : Math.Sqrt(_squaredError / _squaredReference);

    /// <param name="reference">Logits [..., vocab].</param>
    /// <param name="other">Logits of the same shape.</param>
    public void Add(Tensor reference, Tensor other)
    {
        using var scope = NewDisposeScope();
        var r = reference.to(ScalarType.Float64).reshape(-1, reference.shape[^1]);
        var o = other.to(ScalarType.Float64).reshape(-1, other.shape[^1]);
        Positions += r.shape[0];
        Agreeing += r.argmax(-1).eq(o.argmax(-1)).sum().item<long>();
        _squaredError += (r - o).square().sum().item<double>();
        _squaredReference += r.square().sum().item<double>();
    }
}
