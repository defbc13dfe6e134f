namespace LlavaCot.Model.Inputs;

/// <summary>One image after the processor's resize: the resized pixels and the tile grid they are padded to.</summary>
public sealed record ImageTiles(RgbImage Resized, int TileRows, int TileCols, int AspectRatioId)
{
    public int NumTiles => TileRows * TileCols;
}
