using System.CommandLine;
using System.Runtime.InteropServices;

namespace Owlbox.Cli.Review;

/// <summary><c>owlbox review &lt;dataset&gt; [--port N] [--model DIR [--model-variant V]]</c>: serves the review page for a local dataset and its proposal sets
/// on 127.0.0.1 until Ctrl+C or SIGTERM (exit 130, a requested stop, as for <c>owlbox label</c>). Port 0 (the default)
/// takes a free one; the address printed carries the session token. With a model (its prepared form), a box on the page
/// can "find more like this" (<see cref="FindMore"/>).</summary>
public static class ReviewCommand
{
    public static Command Create(CliContext io)
    {
        var dataset = CliOptions.Positional("dataset-folder", "the local dataset to review");
        var port = CliOptions.Number("--port", "the port on 127.0.0.1 (0: a free one)", 0, "port");
        var model = CliOptions.Text("--model", "model folder (prepared): a box's \"find more like this\" searches the dataset with it", "model");
        var variant = JobOptionGroup.ModelVariantOption();
        var command = new Command("review", "a web page on 127.0.0.1: see the boxes, accept or reject proposals") { dataset, port, model, variant };
        return command.WithAction((p, cancellationToken) => RunAsync(p.GetValue(dataset)!, p.GetValue(port),
            p.GetValue(model) is { } m ? new ReviewModel(Path.GetFullPath(m), p.GetValue(variant)!) : null, io.Out, cancellationToken));
    }

    private static async Task<int> RunAsync(string dataset, double port, ReviewModel? model, TextWriter stdout, CancellationToken cancellationToken)
    {
        if (port is < 0 or > 65535 || port != Math.Floor(port))
        {
            throw new UsageException("review takes one dataset folder and optionally --port <0-65535>");
        }
        if (model is not null && !Directory.Exists(model.Directory))
        {
            throw new UsageException($"--model '{model.Directory}' is not a folder");
        }
        await using var server = await ReviewServer.StartAsync(dataset, (int)port, cancellationToken, model).ConfigureAwait(false);
        await stdout.WriteLineAsync($"Reviewing {Path.GetFullPath(dataset)}: open {server.Url}").ConfigureAwait(false);
        await stdout.WriteLineAsync("Decisions are saved as you make them (in bounding_boxes.labels once the page is idle for a moment, and when it stops); Ctrl+C stops the page.").ConfigureAwait(false);
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
