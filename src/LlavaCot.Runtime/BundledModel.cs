namespace LlavaCot.Runtime;

/// <summary>
/// The demo model that ships with the server and the CLI: <c>models/demo</c> in the repository (trained by
/// <c>llavacot train</c> on the synthetic shapes task), copied beside their binaries at build time. It is what runs
/// when no model is configured.
/// </summary>
public static class BundledModel
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "models", "demo");
}
