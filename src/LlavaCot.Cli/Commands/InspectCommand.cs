using LlavaCot.Model.Config;
using LlavaCot.Model.IO;

namespace LlavaCot.Cli.Commands;

/// <summary><c>llavacot inspect &lt;model dir&gt;</c>: what a checkpoint holds, checked against its index.</summary>
public static class InspectCommand
{
    public static int Run(CommandArgs args, TextWriter o)
    {
        var dir = args.Required(0, "<model dir>");
        var config = MllamaConfig.Load(dir);
        var t = config.Text;
        var v = config.Vision;
        o.WriteLine($"model: {Path.GetFullPath(dir)}");
        o.WriteLine($"config: mllama, image_token_index {config.ImageTokenIndex}");
        o.WriteLine($"  text: {t.NumHiddenLayers} layers (cross-attention at {string.Join(", ", t.CrossAttentionLayers)}), " +
                    $"hidden {t.HiddenSize}, heads {t.NumAttentionHeads} ({t.NumKeyValueHeads} kv), mlp {t.IntermediateSize}, vocab {t.VocabSize}");
        o.WriteLine($"  vision: {v.NumHiddenLayers} local + {v.NumGlobalLayers} global layers, hidden {v.HiddenSize}, " +
                    $"heads {v.AttentionHeads}, tile {v.ImageSize} px, patch {v.PatchSize}, up to {v.MaxNumTiles} tiles, " +
                    $"intermediate layers [{string.Join(", ", v.IntermediateLayersIndices)}]");

        using var ckpt = Checkpoint.Open(dir, args.Option("weights"));
        var entries = ckpt.Names.Select(ckpt.Entry).ToList();
        o.WriteLine($"weights: {Path.GetFileName(ckpt.Source)} ({ckpt.Files.Count} file{(ckpt.Files.Count == 1 ? "" : "s")})");
        o.WriteLine($"tensors: {entries.Count}");
        o.WriteLine($"parameters: {entries.Sum(e => e.ElementCount):N0}");
        foreach (var group in entries.GroupBy(e => e.DType).OrderBy(g => g.Key, StringComparer.Ordinal))
            o.WriteLine($"  {group.Key}: {group.Count()} tensors, {group.Sum(e => e.ByteLength):N0} bytes");
        if (ckpt.Files.Count > 1 || ckpt.Source.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            o.WriteLine($"index: all {entries.Count} tensors present in their shards");
        return 0;
    }
}
