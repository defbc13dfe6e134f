namespace LlavaCot.Reasoning.Tests;

public class RequestLimitsTests
{
    private static readonly RequestLimits Limits = new() { MaxQuestionChars = 40 };

    private static ReasonRequest Request(bool image, params PriorTurn[] history)
    {
        // Not a conditional of byte[] and null: that null would become an empty image, not none.
        ReadOnlyMemory<byte>? bytes = null;
        if (image)
            bytes = new byte[] { 1 };
        return new ReasonRequest("r", bytes, "What now?", new ReasonOptions()) { History = history };
    }

    [Fact]
    public void A_well_formed_conversation_passes()
    {
        Assert.Empty(Limits.Check(Request(true, new PriorTurn("user", "Look", Image: true), new PriorTurn("assistant", "A cat."))));
        Assert.Empty(Limits.Check(Request(false, new PriorTurn("system", "Be brief."), new PriorTurn("user", "Hi"), new PriorTurn("assistant", "Hello"))));
        // An empty system text beside an image renders as nothing, as the template allows.
        Assert.Empty(Limits.Check(Request(true, new PriorTurn("system", "  "))));
    }

    public static TheoryData<bool, PriorTurn[], string> Refused => new()
    {
        { true, [new PriorTurn("system", "Be brief.")], "system message cannot be combined with an image" },
        { false, [new PriorTurn("user", "Look", Image: true)], "the request has none" },
        { true, [new PriorTurn("user", "a", Image: true), new PriorTurn("user", "b", Image: true)], "only one turn" },
        { true, [new PriorTurn("assistant", "a", Image: true)], "only a user turn" },
        { false, [new PriorTurn("user", "a"), new PriorTurn("system", "b")], "system turn (first only)" },
        { false, [new PriorTurn("tool", "a")], "system turn (first only)" },
        { false, [new PriorTurn("user", new string('x', 35))], "the limit is 40" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_conversation_the_template_cannot_render_is_refused_naming_the_history(bool image, PriorTurn[] history, string reason)
    {
        var errors = Limits.Check(Request(image, history));
        Assert.Contains(errors, e => e.Field == "history" && e.Message.Contains(reason, StringComparison.Ordinal));
    }
}
