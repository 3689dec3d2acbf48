using Owlbox.Cli;

using var stop = new StopSignal();
return await OwlboxCli.RunAsync(args, Console.Out, Console.Error, stop.Token);
