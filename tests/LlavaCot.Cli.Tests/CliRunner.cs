namespace LlavaCot.Cli.Tests;

/// <summary>Runs the CLI entry point in process and captures what it prints.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args) => RunWithInput(null, args);

    /// <summary>Runs with <paramref name="stdin"/> as standard input.</summary>
    public static (int Code, string Out, string Err) RunWithInput(byte[]? stdin, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using var input = new MemoryStream(stdin ?? []);
        var code = CliApp.Run(args, stdout, stderr, input);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
