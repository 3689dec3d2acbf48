using System.Threading.Channels;
using Owlbox.Contracts.V1;

namespace Owlbox.Cli;

/// <summary>
/// Follows one job's events as they arrive (<see cref="JobEvents"/>), reporting each sample once, until the job
/// completes: the one loop both the in-process run and the block on a broker print from. A sample written again (a
/// message delivered twice, a resumed job's last batch) is reported once; a rejected job is a setup error.
/// </summary>
public sealed class JobFollower(Guid jobId, IJobReporter reporter)
{
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly List<(string SampleId, string Reason)> _failed = [];

    /// <summary>Samples written before this run (a resumed job): progress counts on from them.</summary>
    public int WrittenBefore { get; init; }

    /// <summary>The samples the job listed, when known; progress never shows fewer than it has seen.</summary>
    public int Total { get; set; }

    /// <summary>Boxes the samples reported so far added.</summary>
    public int BoxesAdded { get; private set; }

    /// <summary>What the vision-model verifier spent on the samples reported so far (calls, cache hits, tokens).</summary>
    public VerificationUsage Verification { get; private set; } = VerificationUsage.None;

    /// <summary>Samples reported failed so far, in arrival order.</summary>
    public IReadOnlyList<(string SampleId, string Reason)> Failed => _failed;

    /// <summary>Called when the gateway accepts the job, after <see cref="Total"/> took its sample count (a deployment
    /// says so by event; in process it is known at submission).</summary>
    public Action<LabelingJobAccepted>? Accepted { get; init; }

    /// <summary>Reports the job's samples until it completes; the completion says how it ended.</summary>
    /// <exception cref="JobSetupException">The gateway rejected the job.</exception>
    /// <exception cref="OperationCanceledException">A stop was requested first.</exception>
    public async Task<LabelingJobCompleted> FollowAsync(ChannelReader<object> events, CancellationToken cancellationToken)
    {
        await foreach (var e in events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            switch (e)
            {
                case LabelingJobRejected r when r.JobId == jobId:
                    throw new JobSetupException(string.Join(Environment.NewLine, r.Errors));
                case LabelingJobAccepted a when a.JobId == jobId:
                    Total = a.Samples ?? Total;
                    Accepted?.Invoke(a);
                    break;
                case SampleWritten w when w.JobId == jobId && _seen.Add(w.SampleId):
                    BoxesAdded += w.Objects.Count;
                    Verification = Verification.Add(w.Verification ?? VerificationUsage.None);
                    reporter.SampleDone(Outcome(w.SampleId, TimeSpan.FromMilliseconds(w.Milliseconds), w.Objects, w.Rejected, null));
                    break;
                case SampleFailed f when f.JobId == jobId && _seen.Add(f.SampleId):
                    _failed.Add((f.SampleId, f.Reason));
                    reporter.SampleDone(Outcome(f.SampleId, TimeSpan.Zero, [], 0, f.Reason));
                    break;
                case LabelingJobCompleted c when c.JobId == jobId:
                    return c;
            }
        }
        throw new OperationCanceledException(cancellationToken); // the channel is never completed: only a stop ends the loop
    }

    private SampleOutcome Outcome(string sampleId, TimeSpan elapsed, IReadOnlyList<DetectedObject> objects, int rejected, string? error)
    {
        var total = Math.Max(Total, _seen.Count);
        return new SampleOutcome(Math.Min(WrittenBefore + _seen.Count, total), total, sampleId, elapsed, objects, rejected, error);
    }
}
