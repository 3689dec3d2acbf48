namespace Owlbox.Jobs.Tests;

/// <summary>A job store file that is not a SQLite database (something else at its path, a file a crash or a full disk
/// truncated) is refused at open in words naming it and what to do, not as a SqliteException.</summary>
public sealed class DamagedSqliteStoreTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("owlbox-damaged-store-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Theory]
    [InlineData("not-a-database", "file is not a database")]
    [InlineData("truncated", "database disk image is malformed")]
    public async Task ADamagedFile_IsRefused_NamingItAndWhatToDo(string damage, string reason)
    {
        var path = Path.Combine(_folder, "jobs.db");
        if (damage == "truncated")
        {
            await new SqliteJobStore(path).InitializeAsync(default);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools(); // the last close checkpoints the tables into the file
            File.Delete(path + "-wal");
            File.Delete(path + "-shm");
            using (var file = new FileStream(path, FileMode.Open))
            {
                file.SetLength(100); // the header alone: it still says how many pages there are
            }
        }
        else
        {
            await File.WriteAllTextAsync(path, "these are someone's notes, not a database\n");
        }

        var e = await Assert.ThrowsAsync<JobStoreException>(() => new SqliteJobStore(path).InitializeAsync(default));

        Assert.Equal($"'{path}' is not a readable job store ({reason}); move it away to start afresh (only what interrupted jobs need to resume is lost; no labels are)", e.Message);
    }

    [Fact]
    public async Task AFileWhereItsFolderGoes_IsRefused_NamingThePath()
    {
        var blocker = Path.Combine(_folder, ".owlbox");
        await File.WriteAllTextAsync(blocker, "x");
        var path = Path.Combine(blocker, "jobs.db");

        var e = await Assert.ThrowsAsync<JobStoreException>(() => new SqliteJobStore(path).InitializeAsync(default));

        Assert.StartsWith($"cannot make the folder of the job store '{path}'", e.Message, StringComparison.Ordinal);
    }
}
