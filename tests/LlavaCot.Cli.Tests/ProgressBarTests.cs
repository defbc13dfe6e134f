using System.Text.RegularExpressions;

namespace LlavaCot.Cli.Tests;

public class ProgressBarTests
{
    /// <summary>A clock the test moves by hand.</summary>
    private sealed class FakeClock
    {
        public TimeSpan Now { get; set; }
        public Func<TimeSpan> Read => () => Now;
    }

    private static string[] Lines(StringWriter output) => output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void A_log_gets_a_line_per_tenth_and_one_final_line_with_count_rate_and_eta()
    {
        var output = new StringWriter();
        var clock = new FakeClock();
        var bar = new ProgressBar(output, terminal: false, 300, "questions", clock.Read) { Label = "single N=1  " };
        for (var done = 1; done <= 300; done++)
        {
            clock.Now += TimeSpan.FromSeconds(0.05);
            bar.Update(done);
        }
        bar.Update(300);

        var text = output.ToString();
        Assert.DoesNotContain('\r', text);
        var lines = Lines(output);
        Assert.Equal(10, lines.Length);
        Assert.All(lines[..^1], l => Assert.Matches(@"^single N=1  \d+/300  20\.0 questions/s  ETA \d\d:\d\d:\d\d$", l));
        Assert.Equal("single N=1  30/300  20.0 questions/s  ETA 00:00:13", lines[0]);
        Assert.Equal("single N=1  300/300  20.0 questions/s  done in 00:00:15", lines[^1]);
        Assert.Single(lines, l => l.Contains("done in"));
    }

    [Fact]
    public void Slow_work_gets_a_line_every_30_seconds_even_under_a_tenth()
    {
        var output = new StringWriter();
        var clock = new FakeClock();
        var bar = new ProgressBar(output, terminal: false, 1000, "steps", clock.Read);
        bar.Update(1, "loss 2.000");
        clock.Now = TimeSpan.FromSeconds(29);
        bar.Update(2, "loss 1.900");
        Assert.Empty(output.ToString());

        clock.Now = TimeSpan.FromSeconds(30);
        bar.Update(3, "loss 1.800");
        Assert.Equal(["3/1000  loss 1.800  0.10 steps/s  ETA 02:46:10"], Lines(output));

        clock.Now = TimeSpan.FromSeconds(59);
        bar.Update(4);
        Assert.Single(Lines(output));
        clock.Now = TimeSpan.FromSeconds(60);
        bar.Update(5);
        Assert.Equal(2, Lines(output).Length);
    }

    [Fact]
    public void Kept_updates_are_written_in_a_log_and_a_resumed_run_rates_only_its_own_work()
    {
        var output = new StringWriter();
        var clock = new FakeClock();
        var bar = new ProgressBar(output, terminal: false, 100, "steps", clock.Read) { Start = 90 };
        clock.Now = TimeSpan.FromSeconds(4);
        bar.Update(91);
        Assert.Empty(output.ToString());
        clock.Now = TimeSpan.FromSeconds(8);
        bar.Update(92, keep: true);
        clock.Now = TimeSpan.FromSeconds(12);
        bar.Update(93);
        Assert.Equal(["92/100  0.25 steps/s  ETA 00:00:32"], Lines(output));
    }

    [Fact]
    public void A_terminal_gets_the_bar_redrawn_with_carriage_returns()
    {
        var output = new StringWriter();
        var clock = new FakeClock();
        var bar = new ProgressBar(output, terminal: true, 4, "questions", clock.Read) { Label = "single N=1 " };
        for (var done = 1; done <= 4; done++)
        {
            clock.Now += TimeSpan.FromSeconds(10);
            bar.Update(done);
        }
        bar.Update(3);
        Assert.Equal(
            "\rsingle N=1 [#####...............] 1/4  ETA 00:00:30" +
            "\rsingle N=1 [##########..........] 2/4  ETA 00:00:20" +
            "\rsingle N=1 [###############.....] 3/4  ETA 00:00:10" +
            "\rsingle N=1 [####################] 4/4  ETA 00:00:00" + Environment.NewLine,
            output.ToString());
    }

    [Fact]
    public void A_terminal_bar_keeps_a_line_when_asked_and_can_draw_a_text_of_its_own()
    {
        var output = new StringWriter();
        var clock = new FakeClock();
        var bar = new ProgressBar(output, terminal: true, 2.5, "GB", clock.Read) { Decimals = 1, UnitAfterCount = true };
        clock.Now = TimeSpan.FromSeconds(2);
        bar.Update(1, "shard 1/2", keep: true);
        bar.Update(2, "shard 2/2", text: "shard 2, 2 s");
        Assert.Equal($"\r[########............] 1.0/2.5 GB  shard 1/2  ETA 00:00:03{Environment.NewLine}\rshard 2, 2 s", output.ToString());
    }

    [Fact]
    public void The_clock_text_counts_hours_past_a_day()
    {
        Assert.Equal("00:01:05", ProgressBar.Clock(TimeSpan.FromSeconds(65)));
        Assert.Equal("27:00:01", ProgressBar.Clock(TimeSpan.FromHours(27) + TimeSpan.FromSeconds(1)));
        Assert.Equal("--:--:--", ProgressBar.Clock(null));
    }

    /// <summary>Whether a line of a command's log is a progress line: a rate, then an ETA or the time taken.</summary>
    internal static bool IsProgress(string line) => Regex.IsMatch(line, @"/s  (ETA \d\d|done in \d\d)");
}
