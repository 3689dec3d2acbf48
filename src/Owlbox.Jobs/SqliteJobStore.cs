using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Owlbox.Jobs;

/// <summary>The embedded default: one SQLite file, in WAL mode so readers never block the writer, with a busy
/// timeout so several processes on one machine (the CLI beside a service) can share it.</summary>
public sealed class SqliteJobStore(string path) : SqlJobStore
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    /// <exception cref="JobStoreException">The file is not a readable SQLite database (a crash or a full disk can
    /// truncate it; something else can sit at its path) or its folder cannot be made.</exception>
    public override async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new JobStoreException($"cannot make the folder of the job store '{full}' ({e.Message})", e);
        }
        try
        {
            await using (var c = await OpenAsync(cancellationToken).ConfigureAwait(false))
            await using (var cmd = c.CreateCommand())
            {
                cmd.CommandText = "PRAGMA journal_mode = WAL";
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await base.InitializeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException e)
        {
            throw new JobStoreException(Problem(full, e.SqliteErrorCode), e);
        }
    }

    /// <summary>What is wrong with the store at <paramref name="path"/>, in SQLite's own words for the error code, and
    /// what to do. A damaged file holds nothing but what interrupted jobs need to resume: moving it away loses no labels.</summary>
    public static string Problem(string path, int sqliteErrorCode)
    {
        var reason = SQLitePCL.raw.sqlite3_errstr(sqliteErrorCode).utf8_to_string();
        return sqliteErrorCode is SQLitePCL.raw.SQLITE_CORRUPT or SQLitePCL.raw.SQLITE_NOTADB
            ? $"'{path}' is not a readable job store ({reason}); move it away to start afresh (only what interrupted jobs need to resume is lost; no labels are)"
            : $"the job store '{path}' cannot be opened ({reason})";
    }

    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var c = new SqliteConnection(_connectionString);
        await c.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        // Lookups are by key, and the OS caches the file: a small page cache per pooled connection (SQLite's default is
        // 2 MB each) keeps the job store's memory from growing with the job's size. In WAL mode, synchronous NORMAL
        // commits without an fsync each (durable when the process dies; the last commits can go with the power, and a
        // sample whose "written" mark went is written again, merging boxes it already has: never doubled; the labels
        // file itself is flushed to disk on every write).
        cmd.CommandText = "PRAGMA busy_timeout = 30000; PRAGMA cache_size = -256; PRAGMA synchronous = NORMAL";
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return c;
    }
}
