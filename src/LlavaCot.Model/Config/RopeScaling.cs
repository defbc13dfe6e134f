namespace LlavaCot.Model.Config;

/// <summary><c>rope_scaling</c>; only the llama3 type (and none) is used by Mllama checkpoints.</summary>
public sealed record RopeScaling(
    string RopeType, double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositionEmbeddings)
{
    internal static RopeScaling Parse(JsonSection s)
    {
        // Older HF configs name the field "type".
        var type = s.Has("rope_type") ? s.String("rope_type") : s.String("type", "default");
        if (type == "default")
            return new RopeScaling(type, 1, 1, 1, 0);
        if (type != "llama3")
            throw s.Error("rope_type", $"'{type}' is not supported (llama3 or default)");
        return new RopeScaling(type, s.Double("factor"), s.Double("low_freq_factor"), s.Double("high_freq_factor"),
            s.Int("original_max_position_embeddings"));
    }
}
