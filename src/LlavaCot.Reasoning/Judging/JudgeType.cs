namespace LlavaCot.Reasoning.Judging;

/// <summary>What the judge compares: a whole answer, the next sentence, or one stage (named after its tag).</summary>
public enum JudgeType
{
    All,
    Sentence,
    Summary,
    Caption,
    Reasoning,
    Conclusion,
}
