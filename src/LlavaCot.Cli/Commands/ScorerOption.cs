using LlavaCot.Reasoning.Scoring;

namespace LlavaCot.Cli.Commands;

/// <summary>A command line option naming scorers: a comma-separated list of pairwise and verifier.</summary>
internal static class ScorerOption
{
    public static readonly IReadOnlyList<ScorerKind> Choosing = [ScorerKind.Pairwise, ScorerKind.Verifier];

    /// <summary>The scorers option <paramref name="name"/> lists, in order and without repeats, or null when it is not given.</summary>
    public static IReadOnlyList<ScorerKind>? Parse(CommandArgs args, string name) =>
        args.Option(name)?.Split(',').Select(v => Scorers.ByName.TryGetValue(v, out var scorer) && Choosing.Contains(scorer)
            ? scorer
            : throw new UsageException($"--{name}: '{v}' is not one of {string.Join(", ", Choosing.Select(Scorers.Name))}")).Distinct().ToList();
}
