using LlavaCot.Tests;
using LlavaCot.Training.Shapes;

namespace LlavaCot.Training.Tests;

public class ShapeDatasetTests
{
    private static string Key(Shape s) => $"{s.Colour} {s.Kind} {(s.Large ? "large" : "small")}";

    [Fact]
    public void Every_image_recounted_from_its_pixels_gives_the_stated_answer()
    {
        var types = new HashSet<string>();
        for (var i = 0; i < 300; i++)
        {
            var (scene, question, answer) = ShapeDataset.Draw(11, i);
            var seen = PixelScene.Read(ShapeRenderer.Png(scene));
            Assert.Equal(scene.Shapes.Select(Key).Order(), seen.Shapes.Select(Key).Order());
            Assert.Equal(scene.Background, seen.Background);
            Assert.All(scene.Shapes, s => Assert.True(s.Left >= 0 && s.Right <= ShapeScene.Size && s.Top >= 0 && s.Bottom <= ShapeScene.Size));
            // The answer, computed again from what the pixels show.
            Assert.Equal(question.Answer(scene), question.Answer(seen));
            Assert.Equal(question.Answer(scene), answer.Conclusion);
            types.Add(question.Type);
        }
        Assert.Equal(ShapeQuestion.Types.Order(), types.Order());
    }

    [Fact]
    public void Scenes_follow_the_task_rules()
    {
        var counts = new int[ShapeScene.MaxShapes + 1];
        for (var i = 0; i < 500; i++)
        {
            var (scene, _, _) = ShapeDataset.Draw(5, i);
            counts[scene.Shapes.Count]++;
            Assert.InRange(scene.Background, 225, 255);
            foreach (var s in scene.Shapes)
                Assert.InRange(s.Width, s.Large ? 56 : 28, s.Large ? 72 : 40);
            for (var a = 0; a < scene.Shapes.Count; a++)
                for (var b = a + 1; b < scene.Shapes.Count; b++)
                    Assert.True(ShapeScene.Apart(scene.Shapes[a], scene.Shapes[b]));
            Assert.Equal(scene.Shapes.OrderBy(s => s.Left).Select(s => s.Left), scene.Shapes.Select(s => s.Left));
        }
        Assert.Equal(0, counts[0]);
        Assert.All(counts.Skip(1), c => Assert.InRange(c, 60, 140));
    }

    [Fact]
    public void Busier_scenes_keep_the_rules_and_the_shape_count_floor()
    {
        var counts = new int[ShapeScene.MaxShapes + 1];
        for (var i = 0; i < 300; i++)
        {
            var scene = ShapeDataset.Scene(5, i, 3);
            counts[scene.Shapes.Count]++;
            var seen = PixelScene.Read(ShapeRenderer.Png(scene));
            Assert.Equal(scene.Shapes.Select(Key).Order(), seen.Shapes.Select(Key).Order());
        }
        Assert.Equal(0, counts[0] + counts[1] + counts[2]);
        Assert.All(counts.Skip(3), c => Assert.InRange(c, 60, 140));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShapeDataset.Scene(5, 0, ShapeScene.MaxShapes + 1));
    }

    [Fact]
    public void The_same_seed_writes_the_same_files_and_another_seed_does_not()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        using var c = new TempDir();
        ShapeDataset.Write(a.Path, 12, 7);
        ShapeDataset.Write(b.Path, 12, 7);
        ShapeDataset.Write(c.Path, 12, 8);
        Assert.Equal(File.ReadAllText(a.File(ShapeDataset.FileName)), File.ReadAllText(b.File(ShapeDataset.FileName)));
        Assert.NotEqual(File.ReadAllText(a.File(ShapeDataset.FileName)), File.ReadAllText(c.File(ShapeDataset.FileName)));
        foreach (var image in Directory.GetFiles(Path.Combine(a.Path, "images")))
            Assert.Equal(File.ReadAllBytes(image), File.ReadAllBytes(Path.Combine(b.Path, "images", Path.GetFileName(image))));
        var items = ShapeDataset.Read(a.File(ShapeDataset.FileName));
        Assert.Equal(12, items.Count);
        Assert.All(items, item => Assert.True(File.Exists(Path.Combine(a.Path, item.Image))));
        // A longer set starts with the same items.
        using var longer = new TempDir();
        ShapeDataset.Write(longer.Path, 20, 7);
        Assert.Equal(items, ShapeDataset.Read(longer.File(ShapeDataset.FileName)).Take(12));
    }

    [Fact]
    public void Responses_are_in_llava_cot_format_with_the_answer_alone_in_the_conclusion()
    {
        for (var i = 0; i < 50; i++)
        {
            var (scene, question, answer) = ShapeDataset.Draw(3, i);
            var text = answer.Text;
            Assert.Matches(@"^<SUMMARY> .+ </SUMMARY>\n\n<CAPTION> .+ </CAPTION>\n\n<REASONING> .+ </REASONING>\n\n<CONCLUSION> .+ </CONCLUSION>$", text);
            Assert.Equal(question.Answer(scene), Reasoning.Answers.Conclusion(text));
            foreach (var shape in scene.Shapes)
                Assert.Contains(shape.Phrase, answer.Caption);
        }
    }
}
