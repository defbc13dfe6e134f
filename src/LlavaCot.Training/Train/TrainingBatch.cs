using LlavaCot.Model.Inputs;
using LlavaCot.Training.Shapes;
using static TorchSharp.torch;

namespace LlavaCot.Training.Train;

/// <summary>
/// Samples turned into model inputs exactly as serving renders them (the chat template with double BOS, the image
/// token first, user text never special), with the reply and its end-of-turn token as the only positions that count
/// in the loss. Rows are right-padded: causal attention never lets a real token see the padding after it.
/// </summary>
public sealed class TrainingBatch : IDisposable
{
    public const long Ignore = -100;

    /// <summary>Token ids [B, L].</summary>
    public Tensor Ids { get; }

    /// <summary>The next token to predict at each position, or <see cref="Ignore"/> [B, L].</summary>
    public Tensor Targets { get; }

    /// <summary>Images and the dense cross-attention mask, or null for a text-only batch.</summary>
    public ImageBatch? Images { get; }
    public Tensor? CrossMask { get; }

    /// <summary>The scenes the images show, row by row (empty for a text-only batch).</summary>
    public IReadOnlyList<ShapeScene> Scenes { get; }

    /// <summary>Positions that count in the loss (reply tokens).</summary>
    public long Tokens { get; }

    private TrainingBatch(Tensor ids, Tensor targets, ImageBatch? images, Tensor? crossMask, IReadOnlyList<ShapeScene> scenes, long tokens) =>
        (Ids, Targets, Images, CrossMask, Scenes, Tokens) = (ids, targets, images, crossMask, scenes, tokens);

    /// <param name="date">The date text-only prompts carry (pinned, so training is reproducible).</param>
    public static TrainingBatch Build(IReadOnlyList<Sample> samples, ModelInputsBuilder inputs, DateOnly date)
    {
        var tokenizer = inputs.Tokenizer;
        var endOfTurn = tokenizer.SpecialTokenId(ChatTemplate.EndOfTurn) ?? throw new InvalidOperationException("the tokenizer lacks <|eot_id|>");
        var pad = tokenizer.PadTokenId ?? endOfTurn;
        var withImage = samples[0].Example.WithImage;
        if (samples.Any(s => s.Example.WithImage != withImage || withImage && s.Scene is null))
            throw new ArgumentException("a batch is all image samples (each with its scene) or all text-only samples");
        var rows = samples.Select(s =>
        {
            var prompt = tokenizer.Encode(inputs.Prompt(s.Example.Prompt, withImage, date));
            var reply = tokenizer.EncodeUser(s.Example.Given + s.Example.Reply).Append(endOfTurn).ToList();
            // The given opening joins the prompt: seen, not learned. It must encode to the same tokens on its own.
            var given = tokenizer.EncodeUser(s.Example.Given);
            if (!given.SequenceEqual(reply.Take(given.Count)))
                throw new ArgumentException($"{s.Example.Kind}: the given opening does not end on a token boundary of the reply");
            return (Prompt: prompt.Concat(given).ToList(), Reply: reply.Skip(given.Count).ToList());
        }).ToList();
        var length = rows.Max(r => r.Prompt.Count + r.Reply.Count);
        var ids = new long[samples.Count * length];
        var targets = new long[samples.Count * length];
        Array.Fill(ids, pad);
        Array.Fill(targets, Ignore);
        long counted = 0;
        for (var b = 0; b < rows.Count; b++)
        {
            var (prompt, reply) = rows[b];
            var all = prompt.Concat(reply).ToList();
            for (var t = 0; t < all.Count; t++)
                ids[b * length + t] = all[t];
            // Position t predicts token t + 1: the reply's tokens are predicted from the position before each.
            for (var t = prompt.Count - 1; t < all.Count - 1; t++)
                targets[b * length + t] = all[t + 1];
            counted += reply.Count;
        }
        var idTensor = tensor(ids, [samples.Count, length]);
        var targetTensor = tensor(targets, [samples.Count, length]);
        if (!withImage)
            return new TrainingBatch(idTensor, targetTensor, null, null, [], counted);
        var images = inputs.Images.Process(samples.Select(s => (IReadOnlyList<RgbImage>)[ShapeRenderer.Rgb(s.Scene!)]).ToList());
        var masks = Enumerable.Range(0, samples.Count).Select(b =>
            inputs.DenseMask(ids.Skip(b * length).Take(length).Select(i => (int)i).ToList(), [images.Images[b][0].NumTiles])).ToList();
        var crossMask = cat(masks, 0);
        masks.ForEach(m => m.Dispose());
        return new TrainingBatch(idTensor, targetTensor, images, crossMask, samples.Select(s => s.Scene!).ToList(), counted);
    }

    public void Dispose()
    {
        Ids.Dispose();
        Targets.Dispose();
        Images?.Dispose();
        CrossMask?.Dispose();
    }
}
