using System.Threading.Channels;
using Owlbox.Contracts.V1;

namespace Owlbox.Cli.Tests;

/// <summary>The one loop the in-process run and the block on a broker print from.</summary>
public class JobFollowerTests
{
    private static readonly Guid s_job = Guid.NewGuid();

    private sealed class Recorder : IJobReporter
    {
        public List<SampleOutcome> Samples { get; } = [];
        public List<RunHeader> Plans { get; } = [];

        public void Started(RunHeader plan) => Plans.Add(plan);

        public void SampleDone(SampleOutcome outcome) => Samples.Add(outcome);

        public void Finished(JobSummary summary) => throw new InvalidOperationException("the follower reports samples only");
    }

    private static ChannelReader<object> Events(params object[] events)
    {
        var channel = Channel.CreateUnbounded<object>();
        foreach (var e in events)
        {
            channel.Writer.TryWrite(e);
        }
        return channel.Reader;
    }

    private static SampleWritten Written(string id, int boxes = 1, Guid? job = null) =>
        new(job ?? s_job, id, [.. Enumerable.Range(0, boxes).Select(i => new DetectedObject("cat", i, 0, 1, 1, 0.5, 1, "a cat", 0.1))], 0, 12);

    [Fact]
    public async Task ReportsEachSampleOnce_CountingOnFromAnEarlierRun_UntilTheJobCompletes()
    {
        var reporter = new Recorder();
        var follower = new JobFollower(s_job, reporter) { WrittenBefore = 3, Total = 6 };
        var completed = await follower.FollowAsync(Events(
            Written("a", boxes: 2),
            Written("a", boxes: 2), // delivered twice
            Written("other", job: Guid.NewGuid()), // another job's
            new SampleFailed(s_job, "b", Stage.Detect, "not an image"),
            new LabelingJobCompleted(s_job, JobStatus.CompletedWithFailures, 6, 5, 1),
            Written("late")), CancellationToken.None);

        Assert.Equal(JobStatus.CompletedWithFailures, completed.Status);
        Assert.Equal([("a", 4, 6, true), ("b", 5, 6, false)], reporter.Samples.Select(s => (s.SampleId, s.Index, s.Total, s.Succeeded)));
        Assert.Equal(2, follower.BoxesAdded);
        Assert.Equal([("b", "not an image")], follower.Failed);
    }

    [Fact]
    public async Task Accepted_SetsTheTotal_BeforeItsCallback()
    {
        var reporter = new Recorder();
        int? totalSeen = null;
        JobFollower follower = null!;
        follower = new JobFollower(s_job, reporter) { Accepted = _ => totalSeen = follower.Total };
        await follower.FollowAsync(Events(
            new LabelingJobAccepted(s_job, false, 2, "owlv2", "OWLv2"),
            Written("a"), Written("b"), Written("c"), // more than listed: the total grows, never shows fewer than seen
            new LabelingJobCompleted(s_job, JobStatus.Completed, 3, 3, 0)), CancellationToken.None);

        Assert.Equal(2, totalSeen);
        Assert.Equal([(1, 2), (2, 2), (3, 3)], reporter.Samples.Select(s => (s.Index, s.Total)));
    }

    [Fact]
    public async Task Rejected_IsASetupError_NamingEveryProblem()
    {
        var follower = new JobFollower(s_job, new Recorder());
        var e = await Assert.ThrowsAsync<JobSetupException>(() => follower.FollowAsync(
            Events(new LabelingJobRejected(s_job, ["no model 'x'", "empty prompt"])), CancellationToken.None));
        Assert.Equal($"no model 'x'{Environment.NewLine}empty prompt", e.Message);
    }

    [Fact]
    public async Task AStop_EndsTheFollowing()
    {
        using var stop = new CancellationTokenSource();
        var follower = new JobFollower(s_job, new Recorder());
        var following = follower.FollowAsync(Events(Written("a")), stop.Token);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => following);
    }
}
