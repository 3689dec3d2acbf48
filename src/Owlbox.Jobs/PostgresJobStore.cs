using System.Data.Common;
using Npgsql;

namespace Owlbox.Jobs;

/// <summary>The scaled deployment's store: every replica of every service shares one PostgreSQL database.</summary>
public sealed class PostgresJobStore(string connectionString) : SqlJobStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(connectionString);

    /// <summary>Several services start at once against one database; CREATE TABLE IF NOT EXISTS races in PostgreSQL,
    /// so start-ups take a transaction-scoped advisory lock first.</summary>
    protected override Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        ExecuteInTransactionAsync(connection, transaction, "SELECT pg_advisory_xact_lock(72690001)", cancellationToken);

    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
