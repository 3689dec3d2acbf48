using System.Diagnostics;
using Owlbox.Cli;

namespace Owlbox.Cli.Tests;

/// <summary>
/// A damaged <c>.owlbox</c> (a file in the folder's place, a job store that is not a database or was truncated by a
/// crash or a full disk) stops <c>owlbox label</c> at setup in one line naming the path and what to do, exit 1: no
/// host log, no stack trace, no .NET text, nothing written (attack finding F17).
/// </summary>
public sealed class DamagedOwlboxFolderTests : IDisposable
{
    private readonly Workspace _ws = new();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _ws.Dispose();
    }

    private string[] Label() => ["label", _ws.Dataset, "--model", Workspace.Owlv2Model, "--prompt", "red", "--execution-provider", "cpu"];

    private string OwlboxPath => Path.Combine(_ws.Dataset, ".owlbox");
    private string StorePath => Path.Combine(OwlboxPath, "jobs.db");

    /// <summary>Damages the dataset's .owlbox as <paramref name="damage"/> says; returns the one line expected.</summary>
    private async Task<string> DamageAsync(string damage)
    {
        switch (damage)
        {
            case "owlbox-a-file":
                await File.WriteAllTextAsync(OwlboxPath, "x\n");
                return $"error: '{OwlboxPath}' is a file where Owlbox keeps a folder (its job store, caches and proposals are under .owlbox/); move that file away";
            case "store-not-a-database":
                Directory.CreateDirectory(OwlboxPath);
                await File.WriteAllTextAsync(StorePath, "these are someone's notes, not a database\n");
                return StoreLine("file is not a database");
            default: // truncated to its header by a crash or a full disk
                await new Owlbox.Jobs.SqliteJobStore(StorePath).InitializeAsync(default);
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools(); // the last close checkpoints the tables into the file
                File.Delete(StorePath + "-wal");
                File.Delete(StorePath + "-shm");
                using (var file = new FileStream(StorePath, FileMode.Open))
                {
                    file.SetLength(100);
                }
                return StoreLine("database disk image is malformed");
        }
    }

    private string StoreLine(string reason) =>
        $"error: '{StorePath}' is not a readable job store ({reason}); move it away to start afresh (only what interrupted jobs need to resume is lost; no labels are)";

    [Theory]
    [InlineData("owlbox-a-file")]
    [InlineData("store-not-a-database")]
    [InlineData("store-truncated")]
    public async Task Label_OnADamagedOwlboxFolder_SaysSoInOneLine_Exit1_WritesNothing(string damage)
    {
        var expected = await DamageAsync(damage);
        var labels = await File.ReadAllBytesAsync(_ws.LabelsPath);

        var (exit, output, err) = await Workspace.RunAsync(Label());

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Equal(expected, err.TrimEnd('\n'));
        Assert.Equal("", output);
        Assert.Equal(labels, await File.ReadAllBytesAsync(_ws.LabelsPath));
    }

    /// <summary>The real process: what the host and the bus would log goes to the console, not to the test's writers.</summary>
    [Fact]
    public async Task TheRealProcess_PrintsThatOneLineAndNothingElse()
    {
        var expected = await DamageAsync("store-truncated");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Workspace.OwlboxDll);
        foreach (var a in Label())
        {
            info.ArgumentList.Add(a);
        }
        info.Environment.Remove("OWLBOX_DEBUG");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(OwlboxCli.SetupError, process.ExitCode);
        Assert.Equal(expected, (await stdout + await stderr).TrimEnd('\n'));
    }
}
