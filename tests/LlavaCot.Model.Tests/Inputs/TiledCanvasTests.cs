using LlavaCot.Model.Inputs;

namespace LlavaCot.Model.Tests.Inputs;

public class TiledCanvasTests
{
    [Fact]
    public void Grids_for_4_tiles_are_listed_in_hf_order()
    {
        // mllama-spec.md §4: the list and its ids 1..8.
        (int, int)[] spec = [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2), (3, 1), (4, 1)];
        Assert.Equal(spec, TiledCanvas.SupportedGrids(4));
        Assert.Equal(8, TiledCanvas.AspectRatioId(4, 1, 4));
        Assert.Equal(6, TiledCanvas.AspectRatioId(2, 2, 4));
        Assert.Throws<ArgumentException>(() => TiledCanvas.AspectRatioId(2, 3, 4));
    }

    [Theory]
    // Upscaling: every canvas scales a 100×100 image by ≥ 1 at the same factor for 1×1, 2×2 ...; smallest area wins.
    [InlineData(100, 100, 560, 4, 1, 1)]
    // Downscaling only: the canvas that shrinks least.
    [InlineData(3024, 4032, 560, 4, 2, 2)]
    [InlineData(500, 3000, 560, 4, 1, 4)]
    [InlineData(4000, 100, 560, 4, 4, 1)]
    // Exactly one tile wide and two high: scale 1 on 2×1.
    [InlineData(1120, 560, 560, 4, 2, 1)]
    public void The_chosen_grid_follows_the_spec(int h, int w, int tile, int maxTiles, int rows, int cols) =>
        Assert.Equal((rows, cols), TiledCanvas.ChooseGrid(h, w, tile, maxTiles));

    [Theory]
    [InlineData(3024, 4032, 1120, 1120, 560, 840, 1120)]
    [InlineData(300, 300, 560, 560, 560, 560, 560)]
    [InlineData(12, 20, 32, 32, 32, 19, 32)]
    public void Fit_to_canvas_keeps_the_aspect_ratio_and_floors(int h, int w, int ch, int cw, int tile, int nh, int nw) =>
        Assert.Equal((nh, nw), TiledCanvas.FitToCanvas(h, w, ch, cw, tile));
}
