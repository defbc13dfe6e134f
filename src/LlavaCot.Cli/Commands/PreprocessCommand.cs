using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.IO;
using static TorchSharp.torch;

namespace LlavaCot.Cli.Commands;

/// <summary><c>llavacot preprocess &lt;model dir&gt; &lt;image&gt; [--out file]</c>: what the image processor makes of an image.</summary>
public static class PreprocessCommand
{
    public static int Run(CommandArgs args, TextWriter o)
    {
        var dir = args.Required(0, "<model dir>");
        var path = args.Required(1, "<image>");
        var processor = new MllamaImageProcessor(PreprocessorConfig.Load(dir));
        var bytes = File.ReadAllBytes(path);
        var image = ImageDecoder.Decode(bytes);

        using var scope = NewDisposeScope();
        using var batch = processor.Process(image);
        var tiles = batch.Images[0][0];
        o.WriteLine($"image: {path} ({ImageSignature.Detect(bytes)}, {bytes.Length:N0} bytes)");
        o.WriteLine($"original: {image.Width}×{image.Height}");
        o.WriteLine($"resized: {tiles.Resized.Width}×{tiles.Resized.Height}");
        o.WriteLine($"tiles: {tiles.TileRows}×{tiles.TileCols} (rows×cols), {tiles.NumTiles} of {processor.MaxTiles}, {processor.TileSize} px");
        o.WriteLine($"aspect_ratio_id: {tiles.AspectRatioId}");

        if (args.Option("out") is { } output)
        {
            SafetensorsWriter.Write(output, new Dictionary<string, Tensor>
            {
                ["resized_u8"] = tensor(tiles.Resized.Pixels, [tiles.Resized.Height, tiles.Resized.Width, 3]),
                ["pixel_values"] = batch.PixelValues,
                ["aspect_ratio_ids"] = batch.AspectRatioIds,
                ["aspect_ratio_mask"] = batch.AspectRatioMask,
                ["num_tiles"] = batch.NumTiles,
            }, new Dictionary<string, string> { ["image"] = Path.GetFileName(path) });
            o.WriteLine($"wrote: {output}");
        }
        return 0;
    }
}
