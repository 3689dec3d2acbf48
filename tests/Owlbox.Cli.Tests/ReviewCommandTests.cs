using System.Diagnostics;
using Owlbox.Cli;

namespace Owlbox.Cli.Tests;

/// <summary><c>owlbox review</c> as a process: a requested stop (SIGTERM from a service manager or <c>kill</c>, SIGINT
/// from Ctrl+C) ends it promptly with 130, as it ends <c>owlbox label</c>.</summary>
public sealed class ReviewCommandTests : IDisposable
{
    private readonly Workspace _ws = new();

    public void Dispose() => _ws.Dispose();

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task ASignal_StopsThePage_WithExitCode130(string signal)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Workspace.OwlboxDll, "review", _ws.Dataset })
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info)!;
        var serving = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
            if (e.Data?.Contains("open http://127.0.0.1:", StringComparison.Ordinal) == true)
            {
                serving.TrySetResult(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await serving.Task.WaitAsync(TimeSpan.FromMinutes(1));
            using (var kill = Process.Start("kill", [$"-{signal}", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }
            // A bound, not a wait for something to happen: the stop must come within seconds.
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await process.WaitForExitAsync(deadline.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }

        string text;
        lock (output)
        {
            text = output.ToString();
        }
        Assert.True(process.ExitCode == OwlboxCli.Cancelled, $"exit {process.ExitCode}: {text}");
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal); // no stack trace
    }
}
