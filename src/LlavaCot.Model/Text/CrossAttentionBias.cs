using LlavaCot.Model.Layers;
using static TorchSharp.torch;

namespace LlavaCot.Model.Text;

/// <summary>
/// What the cross-attention layers need per text row: the additive mask over image tokens [B, 1, n, K] and
/// the row mask [B, 1, n, 1] that is 0 for rows seeing no image. HF zeroes the additive mask of such rows, so
/// they attend unmasked to every image token; only the MLP branch is switched off by the row mask.
/// </summary>
public sealed class CrossAttentionBias : IDisposable
{
    public Tensor Additive { get; }
    public Tensor RowMask { get; }

    private CrossAttentionBias(Tensor additive, Tensor rowMask)
    {
        Additive = additive.DetachFromDisposeScope();
        RowMask = rowMask.DetachFromDisposeScope();
    }

    /// <summary>From the processor's dense 0/1 mask [B, L, images, tiles]; each tile covers <paramref name="tokensPerTile"/> keys.</summary>
    public static CrossAttentionBias FromDense(Tensor dense, long tokensPerTile, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        var (b, l) = (dense.shape[0], dense.shape[1]);
        var visible = dense.to(device).gt(Scalars.Of(0)).repeat_interleave(tokensPerTile, dim: 3).reshape(b, l, -1);
        var rows = visible.any(-1, keepdim: true).to(dtype);
        var additive = where(visible, zeros(1, dtype: dtype, device: device), full(1, Scalars.Of(Masks.MinValue(dtype)), dtype, device)) * rows;
        return new CrossAttentionBias(additive.unsqueeze(1), rows.unsqueeze(1));
    }

    /// <summary>Rows for tokens that follow the prompt: HF repeats the last prompt row for every new token.</summary>
    public CrossAttentionBias LastRow()
    {
        using var scope = NewDisposeScope();
        var n = Additive.shape[2];
        return new CrossAttentionBias(Additive.narrow(2, n - 1, 1).clone(), RowMask.narrow(2, n - 1, 1).clone());
    }

    public void Dispose()
    {
        Additive.Dispose();
        RowMask.Dispose();
    }
}
