using Owlbox.ServiceDefaults;
using MassTransit;
using Owlbox.Contracts.V1;
using Owlbox.Jobs;

namespace Owlbox.Pipeline.Tests;

public class InfrastructureFaultsTests
{
    public static TheoryData<Exception, bool> Exceptions => new()
    {
        { new Npgsql.NpgsqlException("connection refused"), true },
        { new Microsoft.Data.Sqlite.SqliteException("database is locked", 5), true },
        { new TimeoutException(), true },
        { new InvalidOperationException("wrapped", new Npgsql.NpgsqlException("gone")), true },
        { new InvalidOperationException("a bug"), false },
        { new IOException("the image could not be read"), false },
        { new FormatException("bad prompt"), false },
    };

    [Theory]
    [MemberData(nameof(Exceptions))]
    public void Exception_IsClassified(Exception e, bool infrastructure) => Assert.Equal(infrastructure, InfrastructureFaults.IsInfrastructure(e));

    [Fact]
    public void Fault_IsClassifiedByItsExceptionTypeNames()
    {
        static Fault<FetchSample> FaultOf(Exception e) => new MassTransit.Events.FaultEvent<FetchSample>(new FetchSample(Guid.NewGuid(), "a.png"), null, new MassTransit.Metadata.BusHostInfo(), e, ["urn:x"]);

        Assert.True(InfrastructureFaults.IsInfrastructure(FaultOf(new Npgsql.NpgsqlException("connection refused"))));
        Assert.False(InfrastructureFaults.IsInfrastructure(FaultOf(new InvalidDataException("corrupt image"))));
    }

    [Fact]
    public void Job_IsStalled_OnlyWhenUnfinishedWithPendingSamplesThatStoppedMoving()
    {
        var now = DateTimeOffset.UtcNow;
        var job = new JobRecord(Guid.NewGuid(), null!, JobStatus.Running, 10, 4, 1, 0, now.AddHours(-1), null, null, now.AddMinutes(-11));

        Assert.True(job.IsStalled(now, TimeSpan.FromMinutes(10)));
        Assert.False(job.IsStalled(now, TimeSpan.FromMinutes(12)));
        Assert.False((job with { Written = 9 }).IsStalled(now, TimeSpan.FromMinutes(10)));
        Assert.False((job with { Status = JobStatus.Cancelled }).IsStalled(now, TimeSpan.FromMinutes(10)));
    }
}
