using Owlbox.Contracts.V1;

namespace Owlbox.Jobs.Tests;

/// <summary>The store's transitions must hold under at-least-once delivery and concurrent replicas. The same tests run
/// on SQLite (always) and PostgreSQL (where <c>OWLBOX_TEST_POSTGRES</c> names one; <c>.ci/run</c> starts Debian's).</summary>
public abstract class JobStoreTests
{
    private static readonly JobSpec s_spec = new(new DatasetReference("local", "/data"), "m", "model", "red", new JobOptions(0.1, true, 0.2, false, 0, 0, "no"), null, null);

    protected abstract IJobStore Store { get; }

    private async Task<Guid> NewRunningJobAsync(params string[] samples)
    {
        var id = Guid.NewGuid();
        Assert.True(await Store.TryCreateAsync(id, s_spec, default));
        await Store.RegisterSamplesAsync(id, samples.Select(s => new SampleRegistration(s)).ToArray(), [], default);
        return id;
    }

    [SkippableFact]
    public async Task TryCreate_SameIdTwice_SecondIsAResubmission()
    {
        var id = Guid.NewGuid();

        Assert.True(await Store.TryCreateAsync(id, s_spec, default));
        Assert.False(await Store.TryCreateAsync(id, s_spec, default));
        Assert.Equal(JobStatus.Expanding, (await Store.FindAsync(id, default))!.Status);
        Assert.Equal(s_spec.Prompt, (await Store.FindAsync(id, default))!.Spec.Prompt);
    }

    [SkippableFact]
    public async Task Register_Resubmission_SkipsWritten_RetriesFailed()
    {
        var id = await NewRunningJobAsync("a", "b", "c");
        await Store.MarkWrittenAsync(id, "a", 2, 10, default);
        await Store.MarkFailedAsync(id, "b", "broken", default);

        var pending = await Store.RegisterSamplesAsync(id, [new("a"), new("b"), new("c")], [("zzz", "no such image")], default);

        Assert.Equal(2, pending);
        Assert.Equal(["b", "c"], (await Store.PendingSamplesAsync(id, null, 10, default)).Select(p => p.SampleId));
        var job = (await Store.FindAsync(id, default))!;
        Assert.Equal((4, 1, 1, JobStatus.Running), (job.Total!.Value, job.Written, job.Failed, job.Status));
        Assert.Equal("no such image", (await Store.ListSamplesAsync(id, default)).Single(s => s.SampleId == "zzz").Reason);
    }

    [SkippableFact]
    public async Task PendingSamples_PageInListingOrder_SkippingDone_AcrossIndexTiesFromAResubmission()
    {
        var id = await NewRunningJobAsync("s0", "s1", "s2", "s3", "s4");
        await Store.MarkWrittenAsync(id, "s1", 0, 1, default);
        // A resubmission numbers its listing from 0 again: new-b gets 1 (tying with s1), new-a 2 (tying with s2).
        await Store.RegisterSamplesAsync(id, [new("s0"), new("new-b"), new("new-a")], [], default);

        var seen = new List<string>();
        PendingSample? after = null;
        var pages = 0;
        while (await Store.PendingSamplesAsync(id, after, 2, default) is { Count: > 0 } page)
        {
            Assert.True(page.Count <= 2);
            seen.AddRange(page.Select(p => p.SampleId));
            after = page[^1];
            pages++;
        }

        // Listing order (idx), ties broken by id; s1 is written, so it is never asked for again.
        Assert.Equal(["s0", "new-b", "new-a", "s2", "s3", "s4"], seen);
        Assert.Equal(3, pages);
    }

    [SkippableFact]
    public async Task SampleStates_NameEachKnownSample()
    {
        var id = await NewRunningJobAsync("a", "b", "c");
        await Store.MarkWrittenAsync(id, "a", 1, 1, default);
        await Store.MarkFailedAsync(id, "b", "bad", default);

        var states = await Store.GetSampleStatesAsync(id, ["a", "b", "c", "unknown"], default);

        Assert.Equal(3, states.Count);
        Assert.Equal((SampleState.Written, SampleState.Failed, SampleState.Pending), (states["a"], states["b"], states["c"]));
    }

    [SkippableFact]
    public async Task FindBySpec_NewestFirst_ReopenResumes_SupersededStaysClosed()
    {
        var spec = s_spec with { Prompt = "unique " + Guid.NewGuid() };
        var older = Guid.NewGuid();
        var newer = Guid.NewGuid();
        Assert.True(await Store.TryCreateAsync(older, spec, default));
        // Newest first is by creation time: the newer job is created once the clock has moved on past the older's (to
        // the next millisecond, coarser than either store keeps), not after a guessed pause.
        var olderCreatedBy = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        SpinWait.SpinUntil(() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() > olderCreatedBy);
        Assert.True(await Store.TryCreateAsync(newer, spec, default));
        await Store.RegisterSamplesAsync(newer, [new("a")], [], default);
        Assert.True(await Store.CancelAsync(newer, default));

        Assert.Equal([newer, older], (await Store.FindBySpecAsync(spec, default)).Select(j => j.JobId));
        Assert.Empty(await Store.FindBySpecAsync(spec with { Prompt = "other" }, default));
        Assert.True(await Store.ReopenAsync(newer, default));
        Assert.Equal(JobStatus.Expanding, await Store.GetStatusAsync(newer, default));
        Assert.True(await Store.SupersedeAsync(older, default));
        Assert.False(await Store.ReopenAsync(older, default));
        Assert.Equal(JobStatus.Superseded, await Store.GetStatusAsync(older, default));
    }

    [SkippableFact]
    public async Task CountUnfinishedJobs_CountsStalledOnesByTheLastSampleUpdate()
    {
        var now = DateTimeOffset.UtcNow;
        var before = await Store.CountUnfinishedJobsAsync(now.AddYears(1), default);
        var moving = await NewRunningJobAsync("a", "b");
        var done = await NewRunningJobAsync("c");
        await Store.MarkWrittenAsync(done, "c", 0, 1, default);
        await Store.TryCompleteAsync(done, default);

        var recent = await Store.CountUnfinishedJobsAsync(now.AddMinutes(-10), default);
        var later = await Store.CountUnfinishedJobsAsync(now.AddYears(1), default);

        Assert.Equal(before.Unfinished + 1, later.Unfinished);
        Assert.Equal(before.Stalled + 1, later.Stalled); // nothing moved since: stalled once the cut-off passes it
        Assert.True(recent.Stalled <= before.Stalled, $"{recent} {before}");
        Assert.NotEqual(Guid.Empty, moving);
    }

    [SkippableFact]
    public async Task GetStatus_FollowsTheJob_AndIsNullForAnUnknownOne()
    {
        var id = await NewRunningJobAsync("a");

        Assert.Equal(JobStatus.Running, await Store.GetStatusAsync(id, default));
        Assert.True(await Store.CancelAsync(id, default));
        Assert.Equal(JobStatus.Cancelled, await Store.GetStatusAsync(id, default));
        Assert.Null(await Store.GetStatusAsync(Guid.NewGuid(), default));
    }

    [SkippableFact]
    public async Task MarkWritten_Twice_CountsOnce()
    {
        var id = await NewRunningJobAsync("a", "b");

        Assert.True(await Store.MarkWrittenAsync(id, "a", 3, 5, default));
        Assert.False(await Store.MarkWrittenAsync(id, "a", 3, 5, default));
        Assert.False(await Store.MarkFailedAsync(id, "a", "late duplicate failure", default));

        var job = (await Store.FindAsync(id, default))!;
        Assert.Equal((1, 0, 3, 1), (job.Written, job.Failed, job.BoxesAdded, job.Pending));
    }

    [SkippableFact]
    public async Task TryComplete_ConcurrentCallers_ExactlyOneFinishesTheJob()
    {
        var id = await NewRunningJobAsync("a", "b");
        await Store.MarkWrittenAsync(id, "a", 1, 1, default);
        Assert.Null(await Store.TryCompleteAsync(id, default)); // b is still pending
        await Store.MarkFailedAsync(id, "b", "bad image", default);

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Store.TryCompleteAsync(id, default))));

        var finished = Assert.Single(results, r => r is not null);
        Assert.Equal(JobStatus.CompletedWithFailures, finished!.Status);
        Assert.NotNull(finished.FinishedUtc);
    }

    [SkippableFact]
    public async Task Cancel_EndsTheJob_AndItNeverCompletesAfterwards()
    {
        var id = await NewRunningJobAsync("a");

        Assert.True(await Store.CancelAsync(id, default));
        Assert.False(await Store.CancelAsync(id, default));
        await Store.MarkWrittenAsync(id, "a", 1, 1, default);

        Assert.Null(await Store.TryCompleteAsync(id, default));
        Assert.Equal(JobStatus.Cancelled, (await Store.FindAsync(id, default))!.Status);
    }

    [SkippableFact]
    public async Task Fail_RecordsTheReasonAsAFinalState()
    {
        var id = Guid.NewGuid();
        await Store.TryCreateAsync(id, s_spec, default);

        Assert.True(await Store.FailAsync(id, "dataset folder is gone", default));

        var job = (await Store.FindAsync(id, default))!;
        Assert.True(job.Status.IsFinal());
        Assert.Equal("dataset folder is gone", job.Error);
    }
}

public sealed class SqliteJobStoreTests : JobStoreTests, IAsyncLifetime, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("owlbox-jobs-").FullName;
    private SqliteJobStore? _store;

    protected override IJobStore Store => _store!;

    public async Task InitializeAsync()
    {
        _store = new SqliteJobStore(Path.Combine(_dir, "jobs.db"));
        await _store.InitializeAsync(default);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}

public sealed class PostgresJobStoreTests : JobStoreTests, IAsyncLifetime
{
    private static readonly string? s_connection = Environment.GetEnvironmentVariable("OWLBOX_TEST_POSTGRES");
    private PostgresJobStore? _store;

    protected override IJobStore Store
    {
        get
        {
            Skip.If(_store is null, "OWLBOX_TEST_POSTGRES is not set; .ci/run (via .ci/services.sh) starts Debian's PostgreSQL and sets it");
            return _store!;
        }
    }

    public async Task InitializeAsync()
    {
        if (s_connection is { Length: > 0 })
        {
            _store = new PostgresJobStore(s_connection);
            // Several services initialise at once in a deployment; so do these.
            await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => _store.InitializeAsync(default)));
        }
    }

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }
}
