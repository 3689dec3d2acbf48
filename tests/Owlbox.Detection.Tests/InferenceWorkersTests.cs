using Owlbox.Detection.Inference;

namespace Owlbox.Detection.Tests;

public sealed class InferenceWorkersTests
{
    [Fact]
    public async Task Runs_AtMostCountItemsAtOnce_AndAllOfThem()
    {
        using var workers = new InferenceWorkers(2);
        // Items meet in pairs: each waits inside its run for a second one to be running too, so two at once is
        // certain, not a matter of how long an item takes (and a third at once would be counted).
        using var pair = new Barrier(2);
        var running = 0;
        var most = 0;
        var met = 0;
        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => workers.RunAsync(() =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref most, now);
            if (pair.SignalAndWait(TimeSpan.FromMinutes(1))) // bounded: one worker alone fails the test, not hangs it
            {
                Interlocked.Increment(ref met);
            }
            Interlocked.Decrement(ref running);
            return i * i;
        })));

        Assert.Equal(Enumerable.Range(0, 12).Select(i => i * i), results);
        Assert.Equal(12, met);
        Assert.Equal(2, most);
    }

    [Fact]
    public async Task Starts_ItemsInTheOrderTheyWereQueued()
    {
        using var workers = new InferenceWorkers(1);
        var started = new List<int>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => workers.RunAsync(() =>
        {
            lock (started)
            {
                started.Add(i);
            }
            return i;
        })));

        Assert.Equal(Enumerable.Range(0, 8), started);
    }

    [Fact]
    public async Task AFailingItem_FailsOnlyItsOwnTask_AndTheWorkerGoesOn()
    {
        using var workers = new InferenceWorkers(1);
        var bad = workers.RunAsync<int>(() => throw new InvalidDataException("corrupt"));
        var good = workers.RunAsync(() => 7);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => bad);
        Assert.Equal("corrupt", e.Message);
        Assert.Equal(7, await good);
    }

    [Fact]
    public async Task ACancelledItem_NeverRuns()
    {
        using var workers = new InferenceWorkers(1);
        using var gate = new ManualResetEventSlim();
        var blocker = workers.RunAsync(() => gate.Wait(TimeSpan.FromSeconds(10)));
        using var cts = new CancellationTokenSource();
        var ran = false;
        var cancelled = workers.RunAsync(() => ran = true, cts.Token);

        cts.Cancel();
        gate.Set();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.True(await blocker);
        Assert.False(ran);
    }

    [Theory]
    [InlineData(0, 2, 8, 2, 4)] // every core, split between two runs
    [InlineData(0, 2, 2, 2, 1)]
    [InlineData(0, 2, 1, 1, 1)] // one core: one run
    [InlineData(6, 2, 16, 2, 3)] // a thread budget below the cores
    [InlineData(3, 4, 16, 3, 1)] // never more runs than threads
    [InlineData(0, 1, 4, 1, 4)]
    public void Threads_AreSplitBetweenTheRuns_NeverAboveTheBudget(int threads, int runs, int cores, int expectedRuns, int expectedPerRun)
    {
        var options = new DetectorOptions { Threads = threads, ConcurrentRuns = runs };

        Assert.Equal(expectedRuns, options.EffectiveConcurrentRuns(cores));
        Assert.Equal(expectedPerRun, options.IntraOpThreadsPerRun(cores));
    }

    [Fact]
    public void ZeroConcurrentRuns_IsRefusedWithTheValue()
    {
        var e = Assert.Throws<ArgumentException>(() => new DetectorOptions { ConcurrentRuns = 0 }.EffectiveConcurrentRuns(4));
        Assert.Contains("ConcurrentRuns must be 1 or more", e.Message, StringComparison.Ordinal);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
