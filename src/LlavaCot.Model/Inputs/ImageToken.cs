using LlavaCot.Model.Config;

namespace LlavaCot.Model.Inputs;

/// <summary>
/// <c>&lt;|image|&gt;</c>, the token that marks where an image goes. HF appends it after the text vocabulary
/// (id 128256 = the model config's <c>image_token_index</c>); Llama 3 tokenizer files that predate the vision
/// models lack it.
/// </summary>
public static class ImageToken
{
    public const string Text = "<|image|>";

    /// <summary>
    /// Makes <paramref name="specials"/> agree with the model config: adds <c>&lt;|image|&gt;</c> at
    /// <paramref name="imageTokenIndex"/> when it is missing and that index is the next free id; a tokenizer
    /// that has it elsewhere, or cannot take it there, is an error naming <paramref name="file"/>.
    /// </summary>
    internal static void Reconcile(Dictionary<string, int> specials, int ordinaryCount, int? imageTokenIndex, string file)
    {
        if (imageTokenIndex is not { } index)
            return;
        if (specials.TryGetValue(Text, out var existing))
        {
            if (existing != index)
                throw new ConfigException($"{file}: {Text} has id {existing} but the model config's image_token_index is {index}");
            return;
        }
        var size = TokenizerBase.CountIds(ordinaryCount, specials);
        if (index != size)
            throw new ConfigException($"{file}: lacks {Text} and the model config's image_token_index {index} is not its vocabulary size {size}");
        specials[Text] = index;
    }
}
