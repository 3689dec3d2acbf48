using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Owlbox.Contracts.V1;

namespace Owlbox.Jobs;

/// <summary>
/// The job store on any ADO.NET provider that speaks the SQL both SQLite (3.35+) and PostgreSQL accept:
/// <c>INSERT … ON CONFLICT DO NOTHING</c>, <c>EXISTS</c>, named <c>@parameters</c>. One implementation, two databases.
/// </summary>
public abstract class SqlJobStore : IJobStore
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    protected abstract ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Runs inside the schema transaction before the tables are created; a database shared by many
    /// processes serialises their start-up here.</summary>
    protected virtual Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    public virtual async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await c.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await LockSchemaAsync(c, tx, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(c, tx, """
            CREATE TABLE IF NOT EXISTS owlbox_jobs (
                job_id TEXT PRIMARY KEY,
                spec TEXT NOT NULL,
                status TEXT NOT NULL,
                total INTEGER,
                created_utc TEXT NOT NULL,
                finished_utc TEXT,
                error TEXT)
            """, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(c, tx, """
            CREATE TABLE IF NOT EXISTS owlbox_samples (
                job_id TEXT NOT NULL,
                sample_id TEXT NOT NULL,
                idx INTEGER NOT NULL,
                state TEXT NOT NULL,
                reason TEXT,
                boxes_added INTEGER NOT NULL DEFAULT 0,
                milliseconds DOUBLE PRECISION,
                updated_utc TEXT NOT NULL,
                PRIMARY KEY (job_id, sample_id))
            """, cancellationToken).ConfigureAwait(false);
        // A project key a job brought, sealed for the deployment; deleted when the job ends.
        await ExecuteAsync(c, tx, "CREATE TABLE IF NOT EXISTS owlbox_job_credentials (job_id TEXT PRIMARY KEY, sealed TEXT NOT NULL)", cancellationToken).ConfigureAwait(false);
        // The expansion pages through a job's samples in listing order.
        await ExecuteAsync(c, tx, "CREATE INDEX IF NOT EXISTS owlbox_samples_order ON owlbox_samples (job_id, idx, sample_id)", cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    protected static async Task ExecuteInTransactionAsync(DbConnection c, DbTransaction tx, string sql, CancellationToken cancellationToken) =>
        await ExecuteAsync(c, tx, sql, cancellationToken).ConfigureAwait(false);

    public async Task<bool> TryCreateAsync(Guid jobId, JobSpec spec, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await ExecuteAsync(c, null,
            "INSERT INTO owlbox_jobs (job_id, spec, status, created_utc) VALUES (@j, @spec, @status, @now) ON CONFLICT (job_id) DO NOTHING",
            cancellationToken, ("j", Key(jobId)), ("spec", JsonSerializer.Serialize(spec, s_json)), ("status", JobStatus.Expanding.ToName()), ("now", Now())).ConfigureAwait(false);
        return rows == 1;
    }

    public async Task<JobStatus?> GetStatusAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = Command(c, null, "SELECT status FROM owlbox_jobs WHERE job_id = @j", ("j", Key(jobId)));
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string status ? JobStatusNames.ParseJobStatus(status) : null;
    }

    public async Task<JobRecord?> FindAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await FindAsync(c, jobId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> RegisterSamplesAsync(Guid jobId, IReadOnlyList<SampleRegistration> found,
        IReadOnlyList<(string SampleId, string Problem)> missing, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await c.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var now = Now();
        var index = 0;
        foreach (var s in found)
        {
            await ExecuteAsync(c, tx, """
                INSERT INTO owlbox_samples (job_id, sample_id, idx, state, updated_utc)
                VALUES (@j, @s, @i, 'pending', @now) ON CONFLICT (job_id, sample_id) DO NOTHING
                """, cancellationToken, ("j", Key(jobId)), ("s", s.SampleId), ("i", index++), ("now", now)).ConfigureAwait(false);
            await ExecuteAsync(c, tx,
                "UPDATE owlbox_samples SET state = 'pending', reason = NULL, updated_utc = @now WHERE job_id = @j AND sample_id = @s AND state = 'failed'",
                cancellationToken, ("j", Key(jobId)), ("s", s.SampleId), ("now", now)).ConfigureAwait(false);
        }
        foreach (var (id, problem) in missing)
        {
            await ExecuteAsync(c, tx, """
                INSERT INTO owlbox_samples (job_id, sample_id, idx, state, reason, updated_utc)
                VALUES (@j, @s, @i, 'failed', @r, @now) ON CONFLICT (job_id, sample_id) DO NOTHING
                """, cancellationToken, ("j", Key(jobId)), ("s", id), ("i", index++), ("r", problem), ("now", now)).ConfigureAwait(false);
        }
        await ExecuteAsync(c, tx, """
            UPDATE owlbox_jobs SET total = (SELECT count(*) FROM owlbox_samples WHERE job_id = @j), status = 'running', finished_utc = NULL
            WHERE job_id = @j AND status IN ('expanding', 'running')
            """, cancellationToken, ("j", Key(jobId))).ConfigureAwait(false);
        int pending;
        await using (var cmd = Command(c, tx, "SELECT count(*) FROM owlbox_samples WHERE job_id = @j AND state = 'pending'", ("j", Key(jobId))))
        {
            pending = Convert.ToInt32(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return pending;
    }

    public async Task<IReadOnlyList<PendingSample>> PendingSamplesAsync(Guid jobId, PendingSample? after, int limit, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        // Ordered by (idx, sample_id): a resubmission numbers newly found samples from 0 again, so idx alone has ties.
        await using var cmd = Command(c, null, """
            SELECT sample_id, idx FROM owlbox_samples
            WHERE job_id = @j AND state = 'pending' AND (idx > @i OR (idx = @i AND sample_id > @s))
            ORDER BY idx, sample_id LIMIT @n
            """, ("j", Key(jobId)), ("i", after?.Index ?? -1), ("s", after?.SampleId ?? ""), ("n", limit));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var page = new List<PendingSample>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            page.Add(new PendingSample(reader.GetString(0), Convert.ToInt32(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture)));
        }
        return page;
    }

    public async Task<IReadOnlyDictionary<string, string>> GetSampleStatesAsync(Guid jobId, IReadOnlyCollection<string> sampleIds, CancellationToken cancellationToken)
    {
        var states = new Dictionary<string, string>(StringComparer.Ordinal);
        if (sampleIds.Count == 0)
        {
            return states;
        }
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        foreach (var chunk in sampleIds.Chunk(256))
        {
            var names = chunk.Select((_, i) => "@s" + i.ToString(CultureInfo.InvariantCulture));
            await using var cmd = Command(c, null, $"SELECT sample_id, state FROM owlbox_samples WHERE job_id = @j AND sample_id IN ({string.Join(", ", names)})",
                [("j", Key(jobId)), .. chunk.Select((id, i) => ("s" + i.ToString(CultureInfo.InvariantCulture), (object?)id))]);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                states[reader.GetString(0)] = reader.GetString(1);
            }
        }
        return states;
    }

    public async Task<(int Unfinished, int Stalled)> CountUnfinishedJobsAsync(DateTimeOffset stalledBefore, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = Command(c, null, """
            SELECT count(*), coalesce(sum(CASE WHEN
                EXISTS (SELECT 1 FROM owlbox_samples s WHERE s.job_id = j.job_id AND s.state = 'pending')
                AND coalesce((SELECT max(s.updated_utc) FROM owlbox_samples s WHERE s.job_id = j.job_id), j.created_utc) < @cut
              THEN 1 ELSE 0 END), 0)
            FROM owlbox_jobs j WHERE j.status IN ('expanding', 'running')
            """, ("cut", stalledBefore.ToString("O", CultureInfo.InvariantCulture)));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture), Convert.ToInt32(reader.GetValue(1), CultureInfo.InvariantCulture));
    }

    public async Task<IReadOnlyList<JobRecord>> FindBySpecAsync(JobSpec spec, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var ids = new List<Guid>();
        await using (var cmd = Command(c, null, "SELECT job_id FROM owlbox_jobs WHERE spec = @spec ORDER BY created_utc DESC", ("spec", JsonSerializer.Serialize(spec, s_json))))
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                ids.Add(Guid.Parse(reader.GetString(0)));
            }
        }
        var jobs = new List<JobRecord>();
        foreach (var id in ids)
        {
            jobs.Add((await FindAsync(c, id, cancellationToken).ConfigureAwait(false))!);
        }
        return jobs;
    }

    public async Task SetCredentialAsync(Guid jobId, string sealedCredential, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(c, null, """
            INSERT INTO owlbox_job_credentials (job_id, sealed) VALUES (@j, @s)
            ON CONFLICT (job_id) DO UPDATE SET sealed = excluded.sealed
            """, cancellationToken, ("j", Key(jobId)), ("s", sealedCredential)).ConfigureAwait(false);
    }

    public async Task<string?> GetCredentialAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = Command(c, null, "SELECT sealed FROM owlbox_job_credentials WHERE job_id = @j", ("j", Key(jobId)));
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    /// <summary>A job that ended keeps no credential.</summary>
    private static Task<int> ForgetCredentialAsync(DbConnection c, Guid jobId, CancellationToken cancellationToken) =>
        ExecuteAsync(c, null, "DELETE FROM owlbox_job_credentials WHERE job_id = @j", cancellationToken, ("j", Key(jobId)));

    public async Task<bool> ReopenAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(c, null,
            "UPDATE owlbox_jobs SET status = 'expanding', finished_utc = NULL WHERE job_id = @j AND status <> 'superseded'",
            cancellationToken, ("j", Key(jobId))).ConfigureAwait(false) == 1;
    }

    public async Task<bool> SupersedeAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var ended = await ExecuteAsync(c, null,
            "UPDATE owlbox_jobs SET status = 'superseded', finished_utc = @now WHERE job_id = @j AND status <> 'superseded'",
            cancellationToken, ("j", Key(jobId)), ("now", Now())).ConfigureAwait(false) == 1;
        await ForgetCredentialAsync(c, jobId, cancellationToken).ConfigureAwait(false);
        return ended;
    }

    public async Task<bool> MarkWrittenAsync(Guid jobId, string sampleId, int boxesAdded, double milliseconds, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(c, null, """
            UPDATE owlbox_samples SET state = 'written', reason = NULL, boxes_added = @b, milliseconds = @ms, updated_utc = @now
            WHERE job_id = @j AND sample_id = @s AND state <> 'written'
            """, cancellationToken, ("j", Key(jobId)), ("s", sampleId), ("b", boxesAdded), ("ms", milliseconds), ("now", Now())).ConfigureAwait(false) == 1;
    }

    public async Task<bool> MarkFailedAsync(Guid jobId, string sampleId, string reason, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(c, null,
            "UPDATE owlbox_samples SET state = 'failed', reason = @r, updated_utc = @now WHERE job_id = @j AND sample_id = @s AND state = 'pending'",
            cancellationToken, ("j", Key(jobId)), ("s", sampleId), ("r", reason), ("now", Now())).ConfigureAwait(false) == 1;
    }

    public async Task<IReadOnlyList<SampleRecord>> ListSamplesAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = Command(c, null,
            "SELECT sample_id, idx, state, reason, boxes_added, milliseconds FROM owlbox_samples WHERE job_id = @j ORDER BY idx", ("j", Key(jobId)));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<SampleRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new SampleRecord(reader.GetString(0), Convert.ToInt32(reader.GetValue(1), CultureInfo.InvariantCulture), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), Convert.ToInt32(reader.GetValue(4), CultureInfo.InvariantCulture),
                reader.IsDBNull(5) ? null : Convert.ToDouble(reader.GetValue(5), CultureInfo.InvariantCulture)));
        }
        return list;
    }

    public async Task<JobRecord?> TryCompleteAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await ExecuteAsync(c, null, """
            UPDATE owlbox_jobs SET finished_utc = @now,
                status = CASE WHEN EXISTS (SELECT 1 FROM owlbox_samples WHERE job_id = @j AND state = 'failed')
                              THEN 'completed-with-failures' ELSE 'completed' END
            WHERE job_id = @j AND status = 'running'
              AND NOT EXISTS (SELECT 1 FROM owlbox_samples WHERE job_id = @j AND state = 'pending')
            """, cancellationToken, ("j", Key(jobId)), ("now", Now())).ConfigureAwait(false);
        if (rows != 1)
        {
            return null;
        }
        await ForgetCredentialAsync(c, jobId, cancellationToken).ConfigureAwait(false);
        return await FindAsync(c, jobId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> FailAsync(Guid jobId, string reason, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var ended = await ExecuteAsync(c, null,
            "UPDATE owlbox_jobs SET status = 'completed-with-failures', error = @r, finished_utc = @now WHERE job_id = @j AND status IN ('expanding', 'running')",
            cancellationToken, ("j", Key(jobId)), ("r", reason), ("now", Now())).ConfigureAwait(false) == 1;
        await ForgetCredentialAsync(c, jobId, cancellationToken).ConfigureAwait(false);
        return ended;
    }

    public async Task<bool> CancelAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var ended = await ExecuteAsync(c, null,
            "UPDATE owlbox_jobs SET status = 'cancelled', finished_utc = @now WHERE job_id = @j AND status IN ('expanding', 'running')",
            cancellationToken, ("j", Key(jobId)), ("now", Now())).ConfigureAwait(false) == 1;
        await ForgetCredentialAsync(c, jobId, cancellationToken).ConfigureAwait(false);
        return ended;
    }

    private static async Task<JobRecord?> FindAsync(DbConnection c, Guid jobId, CancellationToken cancellationToken)
    {
        JobSpec spec;
        JobStatus status;
        int? total;
        DateTimeOffset created;
        DateTimeOffset? finished;
        string? error;
        await using (var cmd = Command(c, null, "SELECT spec, status, total, created_utc, finished_utc, error FROM owlbox_jobs WHERE job_id = @j", ("j", Key(jobId))))
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
            spec = JsonSerializer.Deserialize<JobSpec>(reader.GetString(0), s_json)!;
            status = JobStatusNames.ParseJobStatus(reader.GetString(1));
            total = reader.IsDBNull(2) ? null : Convert.ToInt32(reader.GetValue(2), CultureInfo.InvariantCulture);
            created = DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture);
            finished = reader.IsDBNull(4) ? null : DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture);
            error = reader.IsDBNull(5) ? null : reader.GetString(5);
        }
        int written = 0, failed = 0, boxes = 0;
        DateTimeOffset? lastUpdate = null;
        await using (var cmd = Command(c, null, "SELECT state, count(*), sum(boxes_added), max(updated_utc) FROM owlbox_samples WHERE job_id = @j GROUP BY state", ("j", Key(jobId))))
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var n = Convert.ToInt32(reader.GetValue(1), CultureInfo.InvariantCulture);
                var updated = DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture);
                lastUpdate = lastUpdate is { } l && l > updated ? l : updated;
                switch (reader.GetString(0))
                {
                    case SampleState.Written:
                        written = n;
                        boxes = reader.IsDBNull(2) ? 0 : Convert.ToInt32(reader.GetValue(2), CultureInfo.InvariantCulture);
                        break;
                    case SampleState.Failed:
                        failed = n;
                        break;
                }
            }
        }
        return new JobRecord(jobId, spec, status, total, written, failed, boxes, created, finished, error, lastUpdate);
    }

    private static string Key(Guid jobId) => jobId.ToString("D");

    private static string Now() => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    private static DbCommand Command(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in parameters)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = "@" + name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    private static async Task<int> ExecuteAsync(DbConnection c, DbTransaction? tx, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var cmd = Command(c, tx, sql, parameters);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
