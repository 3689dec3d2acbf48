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

        var third = gate.EnterAsync(default);
        await Task.Delay(50);
        Assert.False(third.IsCompleted);

        gate.Leave(1);
        await third.WaitAsync(TimeSpan.FromSeconds(5));
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
        await Task.Delay(50);
        Assert.False(third.IsCompleted);
    }

    [Fact]
    public async Task Enter_Cancelled_Throws()
    {
        var gate = new InFlightGate(1);
        await gate.EnterAsync(default);
        using var cts = new CancellationTokenSource(50);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gate.EnterAsync(cts.Token));
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
