using System.Text.Json.Nodes;

namespace LlavaCot.Model.Config;

/// <summary><c>preprocessor_config.json</c> of MllamaImageProcessor.</summary>
public sealed record PreprocessorConfig
{
    public const string FileName = "preprocessor_config.json";

    public bool DoConvertRgb { get; init; } = true;
    public bool DoResize { get; init; } = true;
    public bool DoPad { get; init; } = true;
    public bool DoRescale { get; init; } = true;
    public bool DoNormalize { get; init; } = true;
    public required double[] ImageMean { get; init; }
    public required double[] ImageStd { get; init; }
    public required int MaxImageTiles { get; init; }
    public int Resample { get; init; } = 2;
    public double RescaleFactor { get; init; } = 1.0 / 255;
    public required int TileHeight { get; init; }
    public required int TileWidth { get; init; }

    /// <summary>The file Llama 3.2 Vision ships (CLIP's mean and std, bilinear resize) for another tile size and tile count.</summary>
    public static JsonObject LlamaVisionJson(int tileSize, int maxTiles) => new()
    {
        ["image_processor_type"] = "MllamaImageProcessor",
        ["do_convert_rgb"] = true,
        ["do_normalize"] = true,
        ["do_pad"] = true,
        ["do_rescale"] = true,
        ["do_resize"] = true,
        ["image_mean"] = new JsonArray(0.48145466, 0.4578275, 0.40821073),
        ["image_std"] = new JsonArray(0.26862954, 0.26130258, 0.27577711),
        ["max_image_tiles"] = maxTiles,
        ["resample"] = 2,
        ["rescale_factor"] = 1.0 / 255,
        ["size"] = new JsonObject { ["height"] = tileSize, ["width"] = tileSize },
    };

    public static PreprocessorConfig Load(string folderOrFile)
    {
        var file = Directory.Exists(folderOrFile) ? Path.Combine(folderOrFile, FileName) : folderOrFile;
        return JsonSection.Load(file, s =>
        {
            var size = s.Section("size");
            var config = new PreprocessorConfig
            {
                DoConvertRgb = s.Bool("do_convert_rgb", true),
                DoResize = s.Bool("do_resize", true),
                DoPad = s.Bool("do_pad", true),
                DoRescale = s.Bool("do_rescale", true),
                DoNormalize = s.Bool("do_normalize", true),
                ImageMean = s.DoubleArray("image_mean"),
                ImageStd = s.DoubleArray("image_std"),
                MaxImageTiles = s.Int("max_image_tiles"),
                Resample = s.Int("resample", 2),
                RescaleFactor = s.Double("rescale_factor", 1.0 / 255),
                TileHeight = size.Int("height"),
                TileWidth = size.Int("width"),
            };
            if (config.ImageMean.Length != 3 || config.ImageStd.Length != 3)
                throw new ConfigException($"{file}: image_mean and image_std must hold 3 values");
            if (config.TileHeight <= 0 || config.TileWidth <= 0 || config.MaxImageTiles <= 0)
                throw new ConfigException($"{file}: size and max_image_tiles must be positive");
            return config;
        });
    }
}
