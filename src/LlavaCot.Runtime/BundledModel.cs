namespace LlavaCot.Runtime;

/// <summary>
/// The shapes model that ships with the server and the CLI: <c>models/demo</c> in the repository (trained by
/// <c>llavacot train</c> on the synthetic shapes task), copied beside their binaries at build time. It is served with
/// <c>--model</c>; it is not the default until it reaches the accuracy the demo model must have (see its README).
/// </summary>
public static class BundledModel
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "models", "demo");
}
