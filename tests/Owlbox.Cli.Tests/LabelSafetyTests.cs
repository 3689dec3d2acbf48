using System.Diagnostics;
using MassTransit;
using Owlbox.Cli;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Cli.Tests;

/// <summary>The user's labels are never lost or doubled: concurrent jobs, edits during a job, kill -9 and re-run.</summary>
public sealed class LabelSafetyTests : IDisposable
{
    private readonly Workspace _ws = new Workspace().WithCopies(12);

    public void Dispose() => _ws.Dispose();

    private static string[] Label(Workspace ws, string prompt, params string[] extra) =>
        ["label", ws.Dataset, "--model", Workspace.Owlv2Model, "--prompt", prompt, "--execution-provider", "cpu", .. extra];

    [Fact]
    public async Task TwoConcurrentJobs_OnOneFolder_BothResultsLandOnEveryImage()
    {
        using var sequential = new Workspace().WithCopies(12);
        await Workspace.RunAsync(Label(sequential, "red", "--delete_existing_bounding_boxes", "matching-prompt"));
        await Workspace.RunAsync(Label(sequential, "blue", "--delete_existing_bounding_boxes", "matching-prompt"));

        var red = Workspace.RunAsync(Label(_ws, "red", "--delete_existing_bounding_boxes", "matching-prompt"));
        var blue = Workspace.RunAsync(Label(_ws, "blue", "--delete_existing_bounding_boxes", "matching-prompt"));
        var results = await Task.WhenAll(red, blue);

        Assert.All(results, r => Assert.Equal(OwlboxCli.Ok, r.Exit));
        var boxes = _ws.Snapshot().Split('\n').Select(l => l.Split(" | ")[0]);
        Assert.Equal(sequential.Snapshot().Split('\n').Select(l => l.Split(" | ")[0]), boxes);
        Assert.Contains(boxes, l => l.Contains("red@", StringComparison.Ordinal) && l.Contains("blue@", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ABoxAddedByHandDuringAJob_IsStillThereAtTheEnd()
    {
        var hand = new LabeledBox("hand-drawn", 3, 4, 5, 6);
        var edited = 0;
        void AddByHandOnFirstWrite(IBusRegistrationConfigurator x) => x.AddHandler<SampleWritten>(async (SampleWritten _) =>
        {
            if (Interlocked.Exchange(ref edited, 1) == 0)
            {
                // As an editor that respects the lock would: every image gets a hand-drawn box while the job runs.
                await using var held = await LocalDatasetBackend.LockLabelsAsync(_ws.Dataset, default);
                LabelsFile.Update(_ws.LabelsPath, _ws.Images.Select(i => new LabelUpdate(i, c => c with { Boxes = [.. c.Boxes, hand] })).ToArray());
            }
        });

        var (exit, _, _) = await Workspace.RunAsync(AddByHandOnFirstWrite, default, Label(_ws, "red\nblue", "--delete_existing_bounding_boxes", "no"));

        Assert.Equal(OwlboxCli.Ok, exit);
        Assert.Equal(1, edited);
        Assert.All(_ws.Images, i => Assert.Single(_ws.Boxes(i), b => b == hand));
        Assert.All(_ws.Images.Where(i => i.Contains("wide", StringComparison.Ordinal)), i => Assert.Equal(3, _ws.Boxes(i).Count));
    }

    [Fact]
    public async Task ProposalsAppliedDuringAJob_AreKept_AndSoAreTheJobsBoxes()
    {
        await Workspace.RunAsync(Label(_ws, "yellow", "--propose-actions", "5"));
        var set = new Owlbox.Datasets.Proposals.ProposalStore(_ws.Dataset).Load("5");
        Owlbox.Datasets.Proposals.ProposalApplier.Result? applied = null;
        var once = 0;
        // On the first detection, so the apply meets a job that has written little or nothing yet.
        void ApplyOnFirstWrite(IBusRegistrationConfigurator x) => x.AddHandler<SampleDetected>(async (SampleDetected _) =>
        {
            if (Interlocked.Exchange(ref once, 1) == 0)
            {
                applied = await Owlbox.Datasets.Proposals.ProposalApplier.ApplyAsync(_ws.Dataset, set, force: false, default);
            }
        });

        var (exit, _, _) = await Workspace.RunAsync(ApplyOnFirstWrite, default, Label(_ws, "red\nblue", "--delete_existing_bounding_boxes", "no"));

        Assert.Equal(OwlboxCli.Ok, exit);
        Assert.NotNull(applied);
        Assert.Equal(set.Samples.Count, applied.Applied + applied.Conflicts.Count);
        // How many land before the job reaches them depends on timing; samples the job wrote first are conflicts, reported.
        Assert.True(applied.Applied > 0, $"applied {applied.Applied} of {set.Samples.Count}");
        var conflicted = applied.Conflicts.Select(c => c.SampleId).ToHashSet();
        foreach (var sample in set.Samples.Where(s => !conflicted.Contains(s.SampleId)))
        {
            var boxes = _ws.Boxes(sample.SampleId);
            Assert.All(sample.Detections, d => Assert.Contains(new LabeledBox(d.Label, d.X, d.Y, d.Width, d.Height), boxes));
        }
        Assert.All(_ws.Images.Where(i => i.Contains("wide", StringComparison.Ordinal)), i =>
            Assert.Equal(["blue", "red"], _ws.Boxes(i).Where(b => b.Label != "yellow").Select(b => b.Label).Order()));
    }

    [Fact]
    public async Task KilledThreeTimes_ThenReRun_EndsIdenticalToOneCleanRun()
    {
        using var clean = new Workspace().WithCopies(12);
        var (cleanExit, _, _) = await Workspace.RunAsync(Label(clean, "red\nblue\nyellow"));
        Assert.Equal(OwlboxCli.Ok, cleanExit);

        // Three kills, each on a signal of the job's progress rather than at a moment of the clock: as soon as the run
        // prints its plan (nothing of its own written yet), then after this run's first written sample, then after its
        // fifth. Each is mid-job: the job has 78 samples, so none of these can come after its last.
        int[] killAfterSamples = [0, 1, 5];
        foreach (var after in killAfterSamples)
        {
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var written = 0;
            using var process = Start(Label(_ws, "red\nblue\nyellow"), line =>
            {
                var sample = line.Contains("... OK", StringComparison.Ordinal) || line.Contains("... FAILED", StringComparison.Ordinal);
                if ((after == 0 && line.Contains("Labeling with", StringComparison.Ordinal)) || (sample && Interlocked.Increment(ref written) == after))
                {
                    reached.TrySetResult();
                }
            });
            await Task.WhenAny(reached.Task, process.WaitForExitAsync());
            Assert.False(process.HasExited, $"the run to be killed after {after} samples ended first (exit {(process.HasExited ? process.ExitCode : 0)})");
            process.Kill(entireProcessTree: true); // SIGKILL: no clean-up of any kind
            await process.WaitForExitAsync();
        }
        var interrupted = await InterruptedJobsAsync(_ws);
        var (exit, output, _) = await Workspace.RunAsync(Label(_ws, "red\nblue\nyellow"));

        Assert.Equal(1, interrupted); // one job, resumed by each run and interrupted by each kill
        Assert.Equal(OwlboxCli.Ok, exit);
        Assert.Contains("Resuming interrupted job", output, StringComparison.Ordinal);
        Assert.Equal(clean.Snapshot(), _ws.Snapshot());
    }

    [Fact]
    public async Task ReRun_ResumesTheInterruptedJob_FreshStartsANewOne()
    {
        var args = Label(_ws, "red");
        using (var cancel = new CancellationTokenSource())
        {
            // On the first detection: the job is under way and far from done (events reach handlers late on a busy machine).
            void CancelOnFirstWrite(IBusRegistrationConfigurator x) => x.AddHandler<SampleDetected>((SampleDetected _) => cancel.CancelAsync());
            var (cancelled, _, _) = await Workspace.RunAsync(CancelOnFirstWrite, cancel.Token, args);
            Assert.Equal(OwlboxCli.Cancelled, cancelled);
        }

        var (resumed, output, _) = await Workspace.RunAsync(args);
        var (again, fresh, _) = await Workspace.RunAsync([.. args, "--fresh"]);

        Assert.Equal((OwlboxCli.Ok, OwlboxCli.Ok), (resumed, again));
        Assert.Matches(@"Resuming interrupted job [0-9a-f-]{36}: \d+ of 78 samples already written", output);
        Assert.Contains($"Labeled 78 of 78 samples", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Resuming", fresh, StringComparison.Ordinal);
        Assert.All(_ws.Images.Where(i => i.Contains("wide", StringComparison.Ordinal)), i => Assert.Single(_ws.Boxes(i), b => b.Label == "red"));
    }

    private static async Task<long> InterruptedJobsAsync(Workspace ws)
    {
        await using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(ws.Dataset, ".owlbox", "jobs.db")}");
        await db.OpenAsync();
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM owlbox_jobs WHERE status IN ('expanding', 'running')";
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private static Process Start(string[] args, Action<string> onLine)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Workspace.OwlboxDll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => onLine(e.Data ?? "");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
