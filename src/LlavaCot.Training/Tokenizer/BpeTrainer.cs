using System.Text;
using LlavaCot.Model.Inputs;

namespace LlavaCot.Training.Tokenizer;

/// <summary>A trained byte-level BPE: token bytes by id (0–255 the single bytes, then one token per merge, in order).</summary>
public sealed record BpeVocabulary(IReadOnlyList<byte[]> Tokens, IReadOnlyList<(int Left, int Right)> Merges);

/// <summary>
/// Byte-level BPE training under a Split pre-tokenizer (Llama 3's by default): texts are split into pieces, each
/// piece's bytes start as single-byte tokens, and the most frequent adjacent pair is merged into a new token until
/// the vocabulary is full or no pair occurs twice. Ties go to the pair of lower ids, so training is deterministic.
/// </summary>
public static class BpeTrainer
{
    public static BpeVocabulary Train(IEnumerable<string> texts, int vocabularySize, string pattern = SplitPreTokenizer.Llama3Pattern)
    {
        if (vocabularySize < 256)
            throw new ArgumentOutOfRangeException(nameof(vocabularySize), "a byte-level vocabulary holds at least the 256 bytes");
        var splitter = new SplitPreTokenizer(pattern);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var text in texts)
            splitter.Split(text, piece => counts[piece] = counts.GetValueOrDefault(piece) + 1);
        var words = counts.Select(p => (Symbols: Encoding.UTF8.GetBytes(p.Key).Select(b => (int)b).ToList(), Count: p.Value)).ToList();

        var tokens = Enumerable.Range(0, 256).Select(b => new[] { (byte)b }).ToList();
        var merges = new List<(int, int)>();
        while (tokens.Count < vocabularySize)
        {
            var pairs = new Dictionary<(int, int), long>();
            foreach (var (symbols, count) in words)
            {
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    var pair = (symbols[i], symbols[i + 1]);
                    pairs[pair] = pairs.GetValueOrDefault(pair) + count;
                }
            }
            if (pairs.Count == 0)
                break;
            var best = pairs.OrderByDescending(p => p.Value).ThenBy(p => p.Key.Item1).ThenBy(p => p.Key.Item2).First();
            if (best.Value < 2)
                break;
            var (left, right) = best.Key;
            var id = tokens.Count;
            tokens.Add([.. tokens[left], .. tokens[right]]);
            merges.Add((left, right));
            foreach (var (symbols, _) in words)
                Replace(symbols, left, right, id);
        }
        return new BpeVocabulary(tokens, merges);
    }

    private static void Replace(List<int> symbols, int left, int right, int id)
    {
        for (var i = 0; i + 1 < symbols.Count; i++)
        {
            if (symbols[i] == left && symbols[i + 1] == right)
            {
                symbols[i] = id;
                symbols.RemoveAt(i + 1);
            }
        }
    }
}
