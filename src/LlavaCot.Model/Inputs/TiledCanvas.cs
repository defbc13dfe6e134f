namespace LlavaCot.Model.Inputs;

/// <summary>
/// HF's choice of tile grid for an image (<c>get_optimal_tiled_canvas</c>) and the size the image is resized
/// to inside it (<c>get_image_size_fit_to_canvas</c>), in float64 with the same comparisons, so that ties
/// resolve the same way.
/// </summary>
public static class TiledCanvas
{
    /// <summary>
    /// The grids with at most <paramref name="maxTiles"/> tiles in HF's enumeration order (outer loop first).
    /// HF names the pair (width, height) but then reads it as (rows, cols) everywhere, so it is (rows, cols) here;
    /// the aspect-ratio id of a grid is its index in this list plus one (0 marks a missing image).
    /// </summary>
    public static IReadOnlyList<(int Rows, int Cols)> SupportedGrids(int maxTiles)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxTiles);
        var grids = new List<(int, int)>();
        for (var a = 1; a <= maxTiles; a++)
        {
            for (var b = 1; b <= maxTiles; b++)
            {
                if (a * b <= maxTiles)
                    grids.Add((a, b));
            }
        }
        return grids;
    }

    public static int AspectRatioId(int rows, int cols, int maxTiles)
    {
        var index = SupportedGrids(maxTiles).ToList().IndexOf((rows, cols));
        return index >= 0
            ? index + 1
            : throw new ArgumentException($"{rows}×{cols} tiles is not a grid of at most {maxTiles} tiles");
    }

    /// <summary>
    /// The grid whose canvas needs the least upscaling (if any canvas allows upscaling) or else the least
    /// downscaling; among canvases with exactly the same scale, the smallest area, then the earliest in the list.
    /// </summary>
    public static (int Rows, int Cols) ChooseGrid(int imageHeight, int imageWidth, int tileSize, int maxTiles)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageHeight);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tileSize);
        var grids = SupportedGrids(maxTiles);
        var scales = grids
            .Select(g => Math.Min((double)g.Rows * tileSize / imageHeight, (double)g.Cols * tileSize / imageWidth))
            .ToArray();
        var selected = scales.Any(s => s >= 1)
            ? scales.Where(s => s >= 1).Min()
            : scales.Where(s => s < 1).Max();
        var best = -1;
        for (var i = 0; i < grids.Count; i++)
        {
            if (scales[i] == selected && (best < 0 || Area(grids[i]) < Area(grids[best])))
                best = i;
        }
        return grids[best];
    }

    /// <summary>
    /// The (height, width) the image is resized to: each side first clamped to [tile, canvas], then the
    /// tighter of the two scales applied to the other side and floored, keeping the aspect ratio.
    /// </summary>
    public static (int Height, int Width) FitToCanvas(int imageHeight, int imageWidth, int canvasHeight, int canvasWidth, int tileSize)
    {
        var targetWidth = Math.Min(Math.Max(imageWidth, tileSize), canvasWidth);
        var targetHeight = Math.Min(Math.Max(imageHeight, tileSize), canvasHeight);
        var scaleH = (double)targetHeight / imageHeight;
        var scaleW = (double)targetWidth / imageWidth;
        return scaleW < scaleH
            ? (Math.Min((int)Math.Floor(imageHeight * scaleW), targetHeight), targetWidth)
            : (targetHeight, Math.Min((int)Math.Floor(imageWidth * scaleH), targetWidth));
    }

    private static int Area((int Rows, int Cols) grid) => grid.Rows * grid.Cols;
}
