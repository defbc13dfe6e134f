using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace LlavaCot.Model.IO;

/// <summary>
/// Writes a model's weights as Hugging Face does: one <c>model.safetensors</c>, or K shards
/// <c>model-0000i-of-0000K.safetensors</c> with <c>model.safetensors.index.json</c> (total size and weight map).
/// Tensors are produced one at a time and freed once written, so a checkpoint larger than memory can be written.
/// </summary>
public static class CheckpointWriter
{
    /// <param name="plan">The tensors, in the order they are grouped into shards (contiguous runs of similar byte size).</param>
    /// <param name="written">Called with the bytes of each tensor once it is on disk, and the shard it went to.</param>
    public static void Write(string dir, IReadOnlyList<PlannedTensor> plan, Func<PlannedTensor, Tensor> produce, int shards,
        IReadOnlyDictionary<string, string>? metadata = null, Action<long, int>? written = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        Directory.CreateDirectory(dir);
        if (shards == 1)
        {
            SafetensorsWriter.Write(Path.Combine(dir, Checkpoint.SingleFileName), plan, produce, metadata, disposeEach: true, b => written?.Invoke(b, 1));
            return;
        }
        var groups = Split(plan, shards);
        var weightMap = new JsonObject();
        for (var i = 0; i < groups.Count; i++)
        {
            var file = $"model-{i + 1:00000}-of-{groups.Count:00000}.safetensors";
            var shard = i + 1;
            SafetensorsWriter.Write(Path.Combine(dir, file), groups[i], produce, metadata, disposeEach: true, b => written?.Invoke(b, shard));
            foreach (var t in groups[i])
                weightMap[t.Name] = file;
        }
        var index = new JsonObject
        {
            ["metadata"] = new JsonObject { ["total_size"] = plan.Sum(t => t.Bytes) },
            ["weight_map"] = weightMap,
        };
        File.WriteAllText(Path.Combine(dir, Checkpoint.IndexFileName), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Contiguous runs of the plan, each closing once it reaches its share of the bytes; never an empty shard.</summary>
    public static IReadOnlyList<IReadOnlyList<PlannedTensor>> Split(IReadOnlyList<PlannedTensor> plan, int shards)
    {
        shards = Math.Min(shards, plan.Count);
        var total = (double)plan.Sum(t => t.Bytes);
        var groups = new List<IReadOnlyList<PlannedTensor>>();
        var current = new List<PlannedTensor>();
        long done = 0;
        for (var i = 0; i < plan.Count; i++)
        {
            current.Add(plan[i]);
            done += plan[i].Bytes;
            var left = plan.Count - i - 1;
            var shardsLeft = shards - groups.Count - 1;
            if (shardsLeft > 0 && left >= shardsLeft && (done >= total * (groups.Count + 1) / shards || left == shardsLeft))
            {
                groups.Add(current);
                current = [];
            }
        }
        groups.Add(current);
        return groups;
    }
}
