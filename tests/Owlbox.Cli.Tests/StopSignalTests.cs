using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Owlbox.Cli;

namespace Owlbox.Cli.Tests;

/// <summary>
/// SIGTERM (docker stop, Kubernetes, kill) is a requested stop like Ctrl+C: the real owlbox process, stopped mid-job,
/// writes what is done, lists what is not, exits 130 without a stack trace, and the same command resumes the job,
/// counting only what it adds, to the labels an uninterrupted run writes.
/// </summary>
public sealed partial class StopSignalTests : IDisposable
{
    /// <summary>A named pipe in the image's place, last in the listing: its read never returns (nothing writes to
    /// it), so the job is still under way when the signal lands however fast or slow the machine is.</summary>
    private const string Gate = "zz-gate.jpg";

    private const int SigTerm = 15;

    private readonly Workspace _ws = new Workspace().WithCopies(3);

    public void Dispose() => _ws.Dispose();

    private static string[] Label(Workspace ws) =>
        ["label", ws.Dataset, "--model", Workspace.Owlv2Model, "--prompt", "red\nblue\nyellow", "--execution-provider", "cpu"];

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo(string path, uint mode);

    [Fact]
    public async Task Sigterm_MidJob_WritesWhatIsDone_ListsTheRest_Exits130_ThenTheReRunResumesAndCountsOnlyItsBoxes()
    {
        using var clean = new Workspace().WithCopies(3);
        File.Copy(Path.Combine(clean.Dataset, "busy-800x450.jpg"), Path.Combine(clean.Dataset, Gate));
        var (cleanExit, cleanOutput, _) = await Workspace.RunAsync(Label(clean));
        Assert.Equal(OwlboxCli.Ok, cleanExit);
        var cleanBoxes = BoxesAdded(cleanOutput);
        var original = Lines(_ws.Boxes());
        Assert.Equal(0, mkfifo(Path.Combine(_ws.Dataset, Gate), Convert.ToUInt32("600", 8)));

        var (exit, output) = await RunAndTerminateAfterFirstSampleAsync(Label(_ws));

        Assert.Equal(OwlboxCli.Cancelled, exit);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
        // Exactly the written samples carry this job's boxes; every other image holds what it held before.
        var written = JsonNode.Parse(File.ReadAllText(_ws.LabelsPath))!["metadata"]!.AsObject().Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
        var notWritten = _ws.Images.Where(i => !written.Contains(i)).ToArray();
        Assert.Contains(Gate, notWritten);
        Assert.NotEmpty(written);
        var (labeled, expectedBoxes) = (Lines(_ws.Boxes()), Lines(clean.Boxes()));
        Assert.All(_ws.Images.Where(i => i != Gate), i => Assert.Equal(written.Contains(i) ? expectedBoxes[i] : original[i], labeled[i]));
        // What was not labeled is said, by name.
        Assert.Matches($@"Labeled {written.Count} of {_ws.Images.Count} samples", output);
        Assert.Contains($"Stopped on request: {notWritten.Length} sample{(notWritten.Length == 1 ? " was" : "s were")} not labeled", output, StringComparison.Ordinal);
        // By name, the first ConsoleReporter.NotDoneListed of them, then how many more (a busy machine may write few).
        var listed = output[output.IndexOf("Stopped on request", StringComparison.Ordinal)..].Split('\n').Skip(1)
            .Where(l => l.StartsWith("    ", StringComparison.Ordinal)).Select(l => l.Trim()).ToArray();
        var named = listed.Where(l => !l.StartsWith("... and ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(Math.Min(notWritten.Length, ConsoleReporter.NotDoneListed), named.Length);
        Assert.Subset(notWritten.ToHashSet(StringComparer.Ordinal), named.ToHashSet(StringComparer.Ordinal));
        var more = notWritten.Length - named.Length;
        Assert.Equal(more > 0 ? [$"... and {more} more"] : [], listed.Except(named).ToArray());
        var stoppedBoxes = BoxesAdded(output);

        // The re-run resumes the job and counts only the boxes it adds.
        File.Delete(Path.Combine(_ws.Dataset, Gate));
        File.Copy(Path.Combine(clean.Dataset, Gate), Path.Combine(_ws.Dataset, Gate));
        var (again, resumed, _) = await Workspace.RunAsync(Label(_ws));

        Assert.Equal(OwlboxCli.Ok, again);
        Assert.Matches($@"Resuming interrupted job [0-9a-f-]{{36}}: {written.Count} of {_ws.Images.Count} samples already written", resumed);
        Assert.Equal(cleanBoxes - stoppedBoxes, BoxesAdded(resumed));
        Assert.Equal(clean.Snapshot(), _ws.Snapshot());
    }

    private static int BoxesAdded(string output) => int.Parse(BoxesAddedLine().Match(output).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    [GeneratedRegex(@"; (\d+) boxes added;")]
    private static partial Regex BoxesAddedLine();

    private static Dictionary<string, string> Lines(string boxes) =>
        boxes.Split('\n').Select(l => l.Split(": ", 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);

    /// <summary>Runs owlbox, sends SIGTERM once a sample is reported written (its output says so: no waiting on a
    /// clock), and returns its exit code and everything it printed.</summary>
    private static async Task<(int Exit, string Output)> RunAndTerminateAfterFirstSampleAsync(string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Workspace.OwlboxDll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        var output = new StringBuilder();
        var firstWritten = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = Process.Start(info)!;
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (output)
            {
                output.AppendLine(line);
            }
            if (Regex.IsMatch(line, @"^\[\s*1/\d+\] Labeling .*\.\.\. OK"))
            {
                firstWritten.TrySetResult();
            }
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Task.WhenAny(firstWritten.Task, process.WaitForExitAsync()).WaitAsync(TimeSpan.FromMinutes(3));
            Assert.True(firstWritten.Task.IsCompleted, $"no sample was written before owlbox exited:\n{output}");
            Assert.Equal(0, kill(process.Id, SigTerm));
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        process.WaitForExit(); // the output's last lines
        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }
}
