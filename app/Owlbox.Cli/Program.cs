using Owlbox.Cli;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C stops after writing what is done; the labels file stays consistent.
    e.Cancel = true;
    cancel.Cancel();
};
return await OwlboxCli.RunAsync(args, Console.Out, Console.Error, cancel.Token);
