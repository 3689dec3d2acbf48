namespace Owlbox.Cli.Review;

/// <summary><c>owlbox review &lt;dataset&gt; [--port N]</c>: serves the review page for a local dataset and its proposal sets
/// on 127.0.0.1 until Ctrl+C. Port 0 (the default) takes a free one; the address printed carries the session token.</summary>
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
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        return OwlboxCli.Ok;
    }
}
