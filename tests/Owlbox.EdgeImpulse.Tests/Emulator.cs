using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Owlbox.EdgeImpulse;
using Owlbox.EdgeImpulseEmulator;

// The block reads its key and endpoint from the environment, so these tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Owlbox.EdgeImpulse.Tests;

/// <summary>The emulator over a copy of the bundled sample images (ids 1-6 in file-name order), plus the block run
/// in-process against it with the environment Studio gives a block.</summary>
public sealed class Emulator : IAsyncDisposable
{
    public static readonly string RepoRoot = Owlbox.ModelTool.RepoPaths.Root;
    private readonly WebApplication _app;

    private Emulator(string directory, string key, int port, EmulatorFaults faults)
    {
        (Directory, ApiKey, Faults) = (directory, key, faults);
        Endpoint = $"http://127.0.0.1:{port}/v1";
        _app = EmulatorApp.Build(directory, key, [$"http://127.0.0.1:{port}"], faults, Requests);
        Client = new StudioClient(Endpoint, key, new StudioClientOptions { Backoff = TimeSpan.FromMilliseconds(20) });
    }

    public string Directory { get; }
    public string ApiKey { get; }
    public string Endpoint { get; }
    public EmulatorFaults Faults { get; }

    /// <summary>Every API call the emulator answered, as "METHOD path?query".</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Requests { get; } = new();
    public StudioClient Client { get; }

    /// <summary>Sample id by file name, as the emulator numbers them.</summary>
    public static readonly IReadOnlyDictionary<string, int> Ids = new Dictionary<string, int>
    {
        ["busy-800x450.jpg"] = 1,
        ["empty-512x384.png"] = 2,
        ["labeled-600x400.jpg"] = 3,
        ["rotated-exif6.jpg"] = 4,
        ["tall-360x640.png"] = 5,
        ["wide-640x360.jpg"] = 6,
    };

    public static async Task<Emulator> StartAsync(string? key = null)
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("owlbox-ei-").FullName;
        foreach (var f in System.IO.Directory.GetFiles(Path.Combine(RepoRoot, "samples", "shapes")).Where(f => !f.EndsWith(".labels", StringComparison.Ordinal)))
        {
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        }
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var emulator = new Emulator(dir, key ?? "ei_" + Guid.NewGuid().ToString("N"), port, new EmulatorFaults());
        await emulator._app.StartAsync();
        return emulator;
    }

    /// <summary>Runs <c>owlbox block</c> as Studio would: key and endpoint in the environment, ids in a file.</summary>
    public Task<(int Exit, string Out, string Err)> RunBlockAsync(string[] extra, IEnumerable<long>? ids = null,
        Dictionary<string, string?>? environment = null, Action<MassTransit.IBusRegistrationConfigurator>? busTap = null, string? model = null) =>
        RunAsync(idsFile => ["block", "--data-ids-file", idsFile, "--model", model ?? Path.Combine(RepoRoot, "models", "owlv2-test"), .. extra], ids, environment, busTap);

    /// <summary>Runs <c>owlbox relabel-block</c> (blocks/relabel) as Studio would.</summary>
    public Task<(int Exit, string Out, string Err)> RunRelabelBlockAsync(string[] extra, IEnumerable<long>? ids = null,
        Dictionary<string, string?>? environment = null) =>
        RunAsync(idsFile => ["relabel-block", "--data-ids-file", idsFile, .. extra], ids, environment, null);

    private async Task<(int Exit, string Out, string Err)> RunAsync(Func<string, string[]> arguments, IEnumerable<long>? ids,
        Dictionary<string, string?>? environment, Action<MassTransit.IBusRegistrationConfigurator>? busTap)
    {
        var idsFile = Path.Combine(Directory, $"ids-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(idsFile, JsonSerializer.Serialize(ids ?? Ids.Values.Select(i => (long)i).Order()));
        var env = new Dictionary<string, string?>
        {
            ["EI_PROJECT_API_KEY"] = ApiKey,
            ["EI_API_ENDPOINT"] = Endpoint,
            ["EI_PROJECT_ID"] = "1", // Studio always sets it
            ["Owlbox__Studio__Backoff"] = "00:00:00.020",
        };
        foreach (var (k, v) in environment ?? [])
        {
            env[k] = v;
        }
        var saved = env.Keys.ToDictionary(k => k, Environment.GetEnvironmentVariable);
        foreach (var (k, v) in env)
        {
            Environment.SetEnvironmentVariable(k, v);
        }
        try
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var args = arguments(idsFile);
            var exit = await Cli.OwlboxCli.RunAsync(args, stdout, stderr, busTap, CancellationToken.None);
            return (exit, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            foreach (var (k, v) in saved)
            {
                Environment.SetEnvironmentVariable(k, v);
            }
        }
    }

    public Task<StudioSample> SampleAsync(int id) => Client.GetSampleAsync(1, id, null, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
