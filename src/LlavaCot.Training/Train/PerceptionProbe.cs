using LlavaCot.Training.Shapes;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LlavaCot.Training.Train;

/// <summary>
/// A training-only head on the image tokens the text decoder reads: from each patch's projected state it predicts
/// what the patch shows (<see cref="PatchTargets"/>). The captions alone teach perception through a few tokens per
/// image; this gives the vision tower and projector a dense signal on every patch. It is never saved with the model.
/// </summary>
public sealed class PerceptionProbe : nn.Module
{
    private readonly TorchSharp.Modules.Linear attributes;
    private readonly TorchSharp.Modules.Linear places;

    public PerceptionProbe(int hidden) : base(nameof(PerceptionProbe))
    {
        attributes = nn.Linear(hidden, PatchTargets.AttributeClasses);
        places = nn.Linear(hidden, PatchTargets.PlaceClasses);
        RegisterComponents();
    }

    /// <summary>
    /// Mean soft cross-entropy of both heads over every patch. <paramref name="states"/> is [B, tokens, hidden] of
    /// one tile per image, the class token first and the patches row-major after it.
    /// </summary>
    public Tensor Loss(Tensor states, IReadOnlyList<ShapeScene> scenes, int patch)
    {
        var (b, tokens) = (states.shape[0], states.shape[1]);
        if (b != scenes.Count)
            throw new ArgumentException($"{b} image rows for {scenes.Count} scenes");
        var patchStates = states.narrow(1, 1, tokens - 1);
        var targets = scenes.Select(s => PatchTargets.Of(s, patch)).ToList();
        if (targets[0].Places.Length / PatchTargets.PlaceClasses != tokens - 1)
            throw new ArgumentException($"{tokens - 1} patch tokens for a scene of {targets[0].Places.Length / PatchTargets.PlaceClasses} patches");
        using var attributeTargets = tensor(targets.SelectMany(t => t.Attributes).ToArray(), [b, tokens - 1, PatchTargets.AttributeClasses]);
        using var placeTargets = tensor(targets.SelectMany(t => t.Places).ToArray(), [b, tokens - 1, PatchTargets.PlaceClasses]);
        return 0.5 * (Soft(attributes.forward(patchStates), attributeTargets) + Soft(places.forward(patchStates), placeTargets));
    }

    private static Tensor Soft(Tensor logits, Tensor targets) => -(targets * F.log_softmax(logits, -1)).sum(-1).mean();
}
