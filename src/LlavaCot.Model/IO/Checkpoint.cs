using System.Text.Json;
using static TorchSharp.torch;

namespace LlavaCot.Model.IO;

/// <summary>
/// The weights of a model folder: a sharded checkpoint (<c>model.safetensors.index.json</c>) or a single
/// file. Every shard is opened once and its header checked up front, so a broken checkpoint fails at open.
/// </summary>
public sealed class Checkpoint : IDisposable
{
    public const string IndexFileName = "model.safetensors.index.json";
    public const string SingleFileName = "model.safetensors";

    private readonly Dictionary<string, SafetensorsFile> _owner;

    /// <summary>The index or the single weights file this checkpoint was opened from.</summary>
    public string Source { get; }
    public IReadOnlyList<SafetensorsFile> Files { get; }
    public IReadOnlyCollection<string> Names => _owner.Keys;

    private Checkpoint(string source, IReadOnlyList<SafetensorsFile> files, Dictionary<string, SafetensorsFile> owner)
    {
        Source = source;
        Files = files;
        _owner = owner;
    }

    /// <summary>
    /// Opens the weights of <paramref name="modelDir"/>: <paramref name="weightsFile"/> when given (a
    /// .safetensors file or a shard index, relative to the folder or absolute), else the index when present,
    /// else <c>model.safetensors</c>.
    /// </summary>
    public static Checkpoint Open(string modelDir, string? weightsFile = null)
    {
        var path = ResolveWeightsPath(modelDir, weightsFile);
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? OpenIndex(path) : OpenSingle(path);
    }

    public static string ResolveWeightsPath(string modelDir, string? weightsFile)
    {
        if (weightsFile is not null)
        {
            var named = Path.IsPathRooted(weightsFile) ? weightsFile : Path.Combine(modelDir, weightsFile);
            return File.Exists(named)
                ? named
                : throw new SafetensorsException($"{named}: weights file not found");
        }
        if (!Directory.Exists(modelDir))
            throw new SafetensorsException($"{modelDir}: model folder not found");
        var index = Path.Combine(modelDir, IndexFileName);
        if (File.Exists(index))
            return index;
        var single = Path.Combine(modelDir, SingleFileName);
        return File.Exists(single)
            ? single
            : throw new SafetensorsException($"{modelDir}: no weights found (expected {IndexFileName} or {SingleFileName})");
    }

    private static Checkpoint OpenSingle(string path)
    {
        var file = SafetensorsFile.Open(path);
        return new Checkpoint(path, [file], file.Entries.ToDictionary(e => e.Name, _ => file));
    }

    private static Checkpoint OpenIndex(string indexPath)
    {
        var weightMap = ReadWeightMap(indexPath);
        var dir = Path.GetDirectoryName(indexPath) ?? ".";
        var files = new Dictionary<string, SafetensorsFile>();
        var owner = new Dictionary<string, SafetensorsFile>();
        try
        {
            foreach (var (name, shard) in weightMap)
            {
                if (!files.TryGetValue(shard, out var file))
                {
                    var shardPath = Path.Combine(dir, shard);
                    if (!File.Exists(shardPath))
                        throw new SafetensorsException(
                            $"{indexPath}: shard '{shard}' (holding tensor '{name}') not found at {shardPath}");
                    file = SafetensorsFile.Open(shardPath);
                    files[shard] = file;
                }
                if (!file.Contains(name))
                    throw new SafetensorsException(
                        $"{indexPath}: tensor '{name}' is mapped to {file.Path}, which does not contain it");
                owner[name] = file;
            }
        }
        catch
        {
            foreach (var f in files.Values)
                f.Dispose();
            throw;
        }
        return new Checkpoint(indexPath, files.Values.ToList(), owner);
    }

    private static List<(string Name, string Shard)> ReadWeightMap(string indexPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out var map)
                || map.ValueKind != JsonValueKind.Object)
                throw new SafetensorsException($"{indexPath}: missing the weight_map object");
            var result = new List<(string, string)>();
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw new SafetensorsException($"{indexPath}: weight_map entry for tensor '{p.Name}' must be a file name");
                result.Add((p.Name, p.Value.GetString()!));
            }
            return result;
        }
        catch (JsonException ex)
        {
            throw new SafetensorsException($"{indexPath}: not valid JSON: {ex.Message}", ex);
        }
    }

    public bool Contains(string name) => _owner.ContainsKey(name);

    public TensorEntry Entry(string name) => OwnerOf(name).Entry(name);

    /// <summary>The file that holds <paramref name="name"/>.</summary>
    public SafetensorsFile OwnerOf(string name) =>
        _owner.TryGetValue(name, out var file)
            ? file
            : throw new SafetensorsException($"{Source}: tensor '{name}' is not in the checkpoint");

    public Tensor Read(string name, ScalarType? dtype = null, Device? device = null) =>
        OwnerOf(name).Read(name, dtype, device);

    public void Dispose()
    {
        foreach (var f in Files)
            f.Dispose();
    }
}
