using System.Data.Common;
using MassTransit;

namespace Owlbox.ServiceDefaults;

/// <summary>
/// Failures of the infrastructure (the job store's database, the broker) rather than of a sample. They are retried
/// for minutes, and when retries run out anyway the sample is not failed: its message waits in the error queue for
/// <c>owlbox jobs redrive</c> and the job shows as stalled. A healthy image never becomes a failed sample because
/// PostgreSQL restarted.
/// </summary>
public static class InfrastructureFaults
{
    // By name as well as by type: a Fault<T> carries exception type names, not exceptions.
    private static readonly string[] s_namespaces = ["Npgsql.", "Microsoft.Data.Sqlite.", "RabbitMQ.Client.", "System.Net.Sockets."];
    private static readonly string[] s_types =
    [
        typeof(DbException).FullName!, typeof(TimeoutException).FullName!, "MassTransit.RabbitMqConnectionException",
        "MassTransit.RequestTimeoutException",
    ];

    public static bool IsInfrastructure(Exception e) =>
        e is DbException or TimeoutException || IsInfrastructure(e.GetType().FullName) || (e.InnerException is { } inner && IsInfrastructure(inner));

    public static bool IsInfrastructure(Fault fault) => fault.Exceptions.Any(IsInfrastructure);

    private static bool IsInfrastructure(ExceptionInfo info) =>
        IsInfrastructure(info.ExceptionType) || (info.InnerException is { } inner && IsInfrastructure(inner));

    private static bool IsInfrastructure(string? typeName) =>
        typeName is not null && (s_types.Contains(typeName, StringComparer.Ordinal) || s_namespaces.Any(n => typeName.StartsWith(n, StringComparison.Ordinal)));
}
