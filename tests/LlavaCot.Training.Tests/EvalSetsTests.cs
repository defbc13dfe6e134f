using LlavaCot.Tests;
using LlavaCot.Training.Eval;

namespace LlavaCot.Training.Tests;

public class EvalSetsTests
{
    [Fact]
    public void A_multiple_choice_row_becomes_the_vlmevalkit_prompt_and_accepts_the_letter_or_its_text()
    {
        using var temp = new TempDir();
        var image = Convert.ToBase64String([1, 2, 3]);
        File.WriteAllText(temp.File("mc.tsv"),
            "index\tquestion\thint\tA\tB\tC\tD\tanswer\timage\n" +
            $"7\tWhat colour is the sky?\tLook up.\tblue\tgreen\tred\tnan\tA\t{image}\n" +
            $"8\t\"Two\nlines\"\tnan\tyes\tno\t\t\tB\t{image}\n");
        var items = EvalSets.Load(temp.File("mc.tsv"));
        Assert.Equal(2, items.Count);
        Assert.Equal("Hint: Look up.\nQuestion: What colour is the sky?\nOptions:\nA. blue\nB. green\nC. red\n" +
                     "Please select the correct answer from the options above. \n", items[0].Question);
        Assert.Equal("Question: Two\nlines\nOptions:\nA. yes\nB. no\nPlease select the correct answer from the options above. \n", items[1].Question);
        Assert.Equal("7", items[0].Id);
        Assert.True(items[0].IsCorrect(" a "));
        Assert.True(items[0].IsCorrect("Blue"));
        Assert.False(items[0].IsCorrect("B"));
        Assert.True(items[1].IsCorrect("no"));
        Assert.Equal(new byte[] { 1, 2, 3 }, items[0].Image!.Value.ToArray());
    }

    [Fact]
    public void Wilson_and_paired_intervals_behave()
    {
        var (low, high) = Interval.Wilson(85, 100);
        Assert.InRange(low, 0.76, 0.78);
        Assert.InRange(high, 0.90, 0.92);
        Assert.Equal((0.0, 1.0), Interval.Wilson(0, 0));
        var (mean, lo, hi) = Interval.PairedDifference([1, 1, 0, 0, -1, 1, 0, 1, 0, 0]);
        Assert.Equal(0.3, mean, 9);
        Assert.True(lo < mean && mean < hi);
    }

    [Fact]
    public void Stage_criteria_follow_the_reference()
    {
        var item = new EvalItem("0", null, "How many red shapes are there?", ["2"],
            "<SUMMARY> s </SUMMARY>\n\n<CAPTION> The image shows 2 shapes on a grey background. From left to right: a small red circle and a large red square. </CAPTION>", "count_colour");
        Assert.True(Grading.StageRight("caption", "<CAPTION> From left to right: a large red square and a small red circle. </CAPTION>", item));
        Assert.False(Grading.StageRight("caption", "<CAPTION> a small red circle and a large blue square. </CAPTION>", item));
        Assert.True(Grading.StageRight("reasoning", "<REASONING> The red shapes are A and B. That makes 2 red shapes. </REASONING>", item));
        Assert.False(Grading.StageRight("reasoning", "<REASONING> The red shapes are A, B and C. That makes 3 red shapes. </REASONING>", item));
        Assert.True(Grading.StageRight("conclusion", "<CONCLUSION> 2 </CONCLUSION>", item));
        Assert.Null(Grading.StageRight("summary", "<SUMMARY> x </SUMMARY>", item));
        Assert.True(Grading.TagsOk("<SUMMARY> a </SUMMARY>\n\n<CAPTION> b </CAPTION>\n\n<REASONING> c </REASONING>\n\n<CONCLUSION> 2 </CONCLUSION>"));
        Assert.False(Grading.TagsOk("<SUMMARY> a </SUMMARY><CONCLUSION> 2 </CONCLUSION>"));
    }
}
