using System.Runtime.InteropServices;

namespace Owlbox.Cli.Review;

/// <summary><c>owlbox review &lt;dataset&gt; [--port N]</c>: serves the review page for a local dataset and its proposal sets
/// on 127.0.0.1 until Ctrl+C or SIGTERM (exit 130, a requested stop, as for <c>owlbox label</c>). Port 0 (the default)
/// takes a free one; the address printed carries the session token.</summary>
public static class ReviewCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, CancellationToken cancellationToken)
    {
        var a = new ArgumentReader(args, new HashSet<string>(["--port"]), new HashSet<string>(), ignoreUnknown: false);
        var port = a.Number("--port", 0);
        if (a.Positionals.Count != 1 || port is < 0 or > 65535 || port != Math.Floor(port))
        {
            throw new UsageException("review takes one dataset folder and optionally --port <0-65535>");
        }
        await using var server = await ReviewServer.StartAsync(a.Positionals[0], (int)port, cancellationToken).ConfigureAwait(false);
        await stdout.WriteLineAsync($"Reviewing {Path.GetFullPath(a.Positionals[0])}: open {server.Url}").ConfigureAwait(false);
        await stdout.WriteLineAsync("Decisions are written as you make them; Ctrl+C stops the page.").ConfigureAwait(false);
        // SIGTERM (a service manager, kill, docker stop) stops the page as Ctrl+C does; every decision is already on disk.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
        {
            signal.Cancel = true; // exit through the return below, after the server has stopped
            stop.Cancel();
        });
        await server.WaitForShutdownAsync(stop.Token).ConfigureAwait(false);
        await stdout.WriteLineAsync("Review stopped.").ConfigureAwait(false);
        return OwlboxCli.Cancelled; // a requested stop, as for owlbox label
    }
}
