using System.Text.Json;
using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Inputs;

/// <summary>
/// One image of a preprocessing fixture folder, read from its manifest.json at run time: the folders hold
/// MllamaImageProcessor goldens (HF 4.45.2, Pillow 9.4) in the same format, so another can be swapped in.
/// </summary>
public sealed record PreprocessFixture(string Folder, string Name)
{
    public static readonly string[] Folders = ["mllama-tiny", "mllama-realscale-preprocess"];

    /// <summary>Every folder's images; a folder that is missing gives one row, whose test then skips saying why.</summary>
    public static IEnumerable<object[]> All() =>
        Folders.SelectMany(f => Fixtures.Has(f) ? Images(f).Select(name => new object[] { f, name }) : [[f, "(missing)"]]);

    public static IEnumerable<string> Images(string folder) =>
        Manifest(folder).GetProperty("images").EnumerateObject().Select(p => p.Name);

    public static JsonElement Manifest(string folder)
    {
        var path = Fixtures.Path(folder, "manifest.json");
        var root = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        // The real-scale folder lists its images at the top level, the tiny-model one under "images".
        return root.TryGetProperty("images", out _) ? root : JsonDocument.Parse($"{{\"images\": {root.GetRawText()}}}").RootElement;
    }

    public string Dir => Fixtures.Path(Folder);

    public JsonElement Info => Manifest(Folder).GetProperty("images").GetProperty(Name);

    public string ImagePath => System.IO.Path.Combine(Dir, Info.GetProperty("file").GetString()!);

    public string TensorPath
    {
        get
        {
            var nested = System.IO.Path.Combine(Dir, "preprocess", Name + ".safetensors");
            return File.Exists(nested) ? nested : System.IO.Path.Combine(Dir, Name + ".safetensors");
        }
    }

    public PreprocessorConfig Config => PreprocessorConfig.Load(Dir);

    public int Int(string key) => Info.GetProperty(key).GetInt32();

    public (int, int) Pair(string key) => (Info.GetProperty(key)[0].GetInt32(), Info.GetProperty(key)[1].GetInt32());

    /// <summary>The image as a uint8 [H, W, 3] tensor, for comparing with stored uint8 tensors.</summary>
    public static Tensor AsTensor(RgbImage image) => tensor(image.Pixels, [image.Height, image.Width, 3]);
}
