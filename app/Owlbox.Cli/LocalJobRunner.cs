using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Datasets.Proposals;
using Owlbox.Datasets.Local;
using Owlbox.Detection.Inference;
using Owlbox.ModelPreparation;
using Owlbox.Models;
using Owlbox.Gateway;
using Owlbox.Hosting;
using Owlbox.Jobs;

namespace Owlbox.Cli;

/// <summary>
/// The one-process shape: the four services' consumers on the in-memory bus in this process, the job submitted
/// through the same gateway code a deployment uses, and its events printed as they arrive. There is no second
/// labeling code path. Running the same job again (same dataset, model, prompt, options, ids) after it was
/// interrupted resumes it: what it wrote is skipped, and the rest is written as an uninterrupted run would.
/// </summary>
public static class LocalJobRunner
{
    /// <summary>How long a requested stop waits for the work under way (a batch being written, a read that hangs)
    /// before the process leaves it: a sample not recorded as written is done again by the re-run, which never adds
    /// a box twice. Well inside <c>docker stop</c>'s 10 s before its SIGKILL.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    /// <param name="fresh">Start a new job even when an interrupted one with the same spec could be resumed (that one
    /// is then superseded: its late messages are dropped).</param>
    /// <param name="replaceProposals">A new preview job may replace a local proposal set of the same id; without it
    /// the set (someone's unreviewed proposals) stops the job at setup.</param>
    /// <param name="busTap">Extra bus registrations (tests use it to see every message).</param>
    public static async Task<JobSummary> RunAsync(JobSpec spec, OwlboxOptions options, string destination, IJobReporter reporter,
        CancellationToken cancellationToken, Action<IBusRegistrationConfigurator>? busTap = null, bool fresh = false, bool replaceProposals = false)
    {
        var (host, events) = CommandHost.BuildFollowing((services, follow) => services.AddOwlbox(options, x =>
        {
            follow(x);
            busTap?.Invoke(x);
        }), ownQueue: false, cancellationToken);
        try
        {
            // The store first, before any part starts: a damaged one stops the command in one line (JobStoreException),
            // with no bus half-started to take down. The host's own start opens it again (idempotent).
            await host.Services.GetRequiredService<IJobStore>().InitializeAsync(cancellationToken).ConfigureAwait(false);
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            await BrokerJobRunner.WaitForEventQueueAsync(events, cancellationToken).ConfigureAwait(false); // no event missed
        }
        catch
        {
            host.Dispose();
            throw;
        }
        var (stopped, abandoned) = (false, false);
        try
        {
            var store = host.Services.GetRequiredService<IJobStore>();
            var interrupted = (await store.FindBySpecAsync(spec, cancellationToken).ConfigureAwait(false)).FirstOrDefault(j => j.Status.IsResumable());
            if (interrupted is not null && fresh)
            {
                await store.SupersedeAsync(interrupted.JobId, cancellationToken).ConfigureAwait(false);
                interrupted = null;
            }
            var jobId = interrupted?.JobId ?? Guid.NewGuid();
            if (interrupted is null && spec.ProposeJobId is { } proposeId && spec.Dataset.Kind == "local")
            {
                ClaimProposalSet(new ProposalStore(spec.Dataset.Location), proposeId, replaceProposals);
            }
            JobSubmitter.Accepted accepted;
            using (var scope = host.Services.CreateScope())
            {
                try
                {
                    accepted = await scope.ServiceProvider.GetRequiredService<JobSubmitter>().SubmitAsync(jobId, spec, cancellationToken).ConfigureAwait(false);
                }
                catch (JobValidationException e)
                {
                    throw new JobSetupException(e.Message);
                }
            }
            var model = accepted.Model; // the plan and model the submission built: nothing is read or parsed again
            var total = accepted.Samples ?? 0; // this process holds every credential, so it listed the dataset
            var resumed = interrupted is null ? null : new ResumedJob(jobId, interrupted.Written, interrupted.Total) { BoxesAdded = interrupted.BoxesAdded };
            reporter.Started(new RunHeader(model.ModelId, model.TypeName, accepted.Plan.Prompt.Lines, total, destination, resumed)
            {
                Form = model.IsSplit
                    ? $"prepared form ({Path.GetFileName(model.ImageEncoderPath)}): the prompt is encoded once, image encodings are kept for the next prompt"
                    : ModelPreparer.WhyNotPreparable(model.OnnxPath) is { } why
                        ? $"single graph as published ({Path.GetFileName(model.OnnxPath)}), slower: the prompt is encoded again for every image and no image encodings are kept, because `owlbox models prepare` cannot split this graph: {why}"
                        : $"single graph as published ({Path.GetFileName(model.OnnxPath)}): `owlbox models prepare {model.Directory}` writes the faster form",
            });
            var started = Stopwatch.StartNew();
            var follower = new JobFollower(jobId, reporter) { WrittenBefore = resumed?.Written ?? 0, Total = total };
            try
            {
                await follower.FollowAsync(events.Reader, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // A requested stop: the job is cancelled first, so every stage drops its messages (no new sample is
                // fetched or detected, no fault ends the job as failed); then the bus stops, letting a write under
                // way finish, for at most StopGrace. What was written stays written; the rest is pending for a re-run.
                await store.CancelAsync(jobId, CancellationToken.None).ConfigureAwait(false);
                using var grace = new CancellationTokenSource(StopGrace);
                try
                {
                    await host.StopAsync(grace.Token).WaitAsync(grace.Token).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Past the grace, work still under way (an inference, a read that hangs) is left running, and the
                    // host is not disposed under it: the process ends with it. A stage's error while stopping changes
                    // nothing the job store does not already say.
                    abandoned = true;
                }
                stopped = true;
            }
            if (spec.Dataset.Kind == LocalDatasetKind.KindName)
            {
                // A stopped job has no end to fold its journal at: what it wrote goes into the labels file now.
                await LabelJournal.FoldPendingAsync(spec.Dataset.Location, CancellationToken.None).ConfigureAwait(false);
            }
            var job = (await store.FindAsync(jobId, CancellationToken.None).ConfigureAwait(false))!;
            var samples = await store.ListSamplesAsync(jobId, CancellationToken.None).ConfigureAwait(false);
            var failed = samples.Where(s => s.State == SampleState.Failed).Select(s => (s.SampleId, s.Reason ?? "failed")).ToArray();
            var notDone = job.Status == JobStatus.Cancelled ? samples.Where(s => s.State == SampleState.Pending).Select(s => s.SampleId).ToArray() : [];
            var summary = new JobSummary(job.Status, job.Total ?? total, job.Written, failed, job.BoxesAdded - (resumed?.BoxesAdded ?? 0), started.Elapsed, destination)
            {
                WrittenBefore = resumed?.Written ?? 0,
                NotDone = notDone,
                Verification = spec.Verification is { } verify ? (verify.Model, follower.Verification) : null,
            };
            reporter.Finished(summary);
            return summary;
        }
        finally
        {
            if (!stopped)
            {
                await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }
            if (!abandoned)
            {
                host.Dispose();
            }
        }
    }

    /// <summary>A new job writes over an existing proposal set only when told to (<see cref="ProposalStore.RequireUnused"/>).</summary>
    private static void ClaimProposalSet(ProposalStore proposals, string proposeId, bool replace)
    {
        if (replace && proposals.Exists(proposeId))
        {
            proposals.Discard(proposeId);
            return;
        }
        try
        {
            proposals.RequireUnused(proposeId, ", or pass --replace-proposals");
        }
        catch (DatasetException e)
        {
            throw new JobSetupException(e.Message);
        }
    }
}
