using LlavaCot.Cli;

using var stdin = Console.OpenStandardInput();
return CliApp.Run(args, Console.Out, Console.Error, stdin);
