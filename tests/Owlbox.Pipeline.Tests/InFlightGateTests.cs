using Owlbox.Pipeline;
using Owlbox.Jobs;

namespace Owlbox.Pipeline.Tests;

public class InFlightGateTests
{
    [Fact]
    public async Task Enter_AtCapacity_WaitsUntilAnImageLeaves()
    {
        var gate = new InFlightGate(2);
        await gate.EnterAsync(default);
        await gate.EnterAsync(default);

        // A full gate hands back a waiting entry at once, and only a Leave completes it: nothing else can, so it is
        // checked now rather than after a pause that would prove nothing more.
        var third = gate.EnterAsync(default);
        Assert.False(third.IsCompleted);
        Assert.Equal(2, gate.Count);

        gate.Leave(1);
        await third;
        Assert.Equal(2, gate.Count);
    }

    [Fact]
    public async Task Leave_ReportedTwice_NeverGrowsRoomBeyondCapacity()
    {
        var gate = new InFlightGate(2);
        await gate.EnterAsync(default);
        gate.Leave(1);
        gate.Leave(5); // a redelivered batch reports its images again

        Assert.Equal(0, gate.Count);
        await gate.EnterAsync(default);
        await gate.EnterAsync(default);
        var third = gate.EnterAsync(default);
        Assert.False(third.IsCompleted); // room for two, however many leaves were reported
        Assert.Equal(2, gate.Count);
        gate.Leave(1);
        await third; // and the third gets in on the next real leave
    }

    [Fact]
    public async Task Enter_Cancelled_Throws()
    {
        var gate = new InFlightGate(1);
        await gate.EnterAsync(default);
        using var cts = new CancellationTokenSource();
        var waiting = gate.EnterAsync(cts.Token);
        Assert.False(waiting.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(1, gate.Count); // the cancelled entry took no room
    }

    [Fact]
    public void Unbounded_NeverWaits()
    {
        // RabbitMQ's gates: 1,000 entries and not one leave, yet every entry is granted at once.
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(OneProcessGates.Unbounded.Images.EnterAsync(default).IsCompletedSuccessfully, $"entry {i} waited");
            Assert.True(OneProcessGates.Unbounded.Samples.EnterAsync(default).IsCompletedSuccessfully, $"sample {i} waited");
        }
    }
}
