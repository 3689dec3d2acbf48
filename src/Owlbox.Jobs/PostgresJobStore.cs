using System.Data.Common;
using Npgsql;

namespace Owlbox.Jobs;

/// <summary>The scaled deployment's store: every replica of every service shares one PostgreSQL database.</summary>
public sealed class PostgresJobStore(string connectionString) : SqlJobStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(connectionString);

    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
