using LlavaCot.Server.Hosting;
using Microsoft.Extensions.Options;

try
{
    var app = LlavaCotServer.Build(args);
    await app.RunAsync();
    return Environment.ExitCode;
}
catch (OperationCanceledException) when (Environment.ExitCode != 0)
{
    // The model failed to load while the host was still starting: ModelService logged why, set the exit code and
    // stopped the start.
    return Environment.ExitCode;
}
catch (OptionsValidationException ex)
{
    // Bad settings stop the server before it listens, with every problem named.
    Console.Error.WriteLine("llavacot: invalid configuration:");
    foreach (var failure in ex.Failures)
        Console.Error.WriteLine($"  {failure}");
    return 2;
}

public partial class Program;
