using LlavaCot.Model.Generation;

namespace LlavaCot.Model.Tests.Generation;

public class StopMatcherTests
{
    [Fact]
    public void Stop_string_split_across_deltas_is_found()
    {
        var m = new StopMatcher("prompt ", ["</SUMMARY>"], stopAtPeriod: false);
        Assert.False(m.Append("<SUMMARY> text </SUM"));
        Assert.False(m.Append("MAR"));
        Assert.True(m.Append("Y>\n\n"));
    }

    [Fact]
    public void A_stop_string_in_the_prompt_stops_after_the_first_token()
    {
        var m = new StopMatcher("question mentions </CAPTION> already", ["</CAPTION>"], stopAtPeriod: false);
        Assert.True(m.Append("x"));
    }

    [Fact]
    public void Period_mode_checks_the_end_of_the_whole_text()
    {
        var m = new StopMatcher("Earlier sentence.", [], stopAtPeriod: true);
        Assert.False(m.Append(" Next"));
        Assert.False(m.Append(" 3.5 is"));
        Assert.True(m.Append(" it."));
    }

    [Fact]
    public void Each_step_scans_only_new_text()
    {
        var prompt = new string('a', 100_000);
        var m = new StopMatcher(prompt, ["</X>"], stopAtPeriod: false);
        Assert.False(m.Append("b"));
        var afterFirst = m.ScannedCharacters;
        for (var i = 0; i < 1000; i++)
            Assert.False(m.Append("b"));
        // Later steps look at the new character plus a stop string's length of overlap, never the prompt again.
        Assert.True(m.ScannedCharacters - afterFirst <= 1000 * "</X>".Length, $"scanned {m.ScannedCharacters - afterFirst}");
        Assert.True(m.Append("</X>"));
    }
}
