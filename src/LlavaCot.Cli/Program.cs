using LlavaCot.Cli;

return CliApp.Run(args, Console.Out, Console.Error);
