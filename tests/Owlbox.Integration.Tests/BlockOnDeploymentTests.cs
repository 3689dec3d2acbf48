using System.Net;
using System.Net.Sockets;
using Owlbox.Cli;
using Owlbox.EdgeImpulse;
using Owlbox.EdgeImpulseEmulator;

namespace Owlbox.Integration.Tests;

/// <summary>The Edge Impulse block with a deployment configured: it submits the job to the gateway and follows it,
/// while the deployment's own services read and write the project with their own copy of the key.</summary>
public sealed class BlockOnDeploymentTests(Infrastructure infra) : IClassFixture<Infrastructure>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("owlbox-blk-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [SkippableFact]
    public async Task Block_WithAGateway_SubmitsFollowsAndTheServicesWriteToStudio()
    {
        Skip.If(infra.SkipReason is not null, infra.SkipReason);
        const string key = StudioKey;
        var (emulator, endpoint) = await StartStudioAsync(seed: 21);
        await using var _ = emulator;
        await using var d = await StartDeploymentAsync(endpoint);
        await File.WriteAllTextAsync(Path.Combine(_root, "ids.json"), "[1,2,3,4,5,6,7,8]");
        var saved = (Environment.GetEnvironmentVariable("EI_PROJECT_API_KEY"), Environment.GetEnvironmentVariable("EI_API_ENDPOINT"), Environment.GetEnvironmentVariable("OWLBOX_GATEWAY_URL"), Environment.GetEnvironmentVariable("OWLBOX_API_KEY"));
        Environment.SetEnvironmentVariable("EI_PROJECT_API_KEY", key);
        Environment.SetEnvironmentVariable("EI_API_ENDPOINT", endpoint);
        Environment.SetEnvironmentVariable("OWLBOX_GATEWAY_URL", d.Gateway().BaseAddress!.ToString());
        Environment.SetEnvironmentVariable("OWLBOX_API_KEY", Deployment.ApiKey);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit;
        try
        {
            exit = await OwlboxCli.RunAsync(["block", "--data-ids-file", Path.Combine(_root, "ids.json"), "--model", Deployment.ModelId,
                "--prompt", Datasets.Prompt.Replace("\n", "\\n", StringComparison.Ordinal), "--delete_existing_bounding_boxes", "yes", "--nms",
                "--poll-seconds", "0.2", "--metadata", "{}"], stdout, stderr);
        }
        finally
        {
            Environment.SetEnvironmentVariable("EI_PROJECT_API_KEY", saved.Item1);
            Environment.SetEnvironmentVariable("EI_API_ENDPOINT", saved.Item2);
            Environment.SetEnvironmentVariable("OWLBOX_GATEWAY_URL", saved.Item3);
            Environment.SetEnvironmentVariable("OWLBOX_API_KEY", saved.Item4);
        }

        Assert.True(exit == OwlboxCli.Ok, $"{stdout}\n{stderr}");
        Assert.Contains("completed: 8 written, 0 failed", stdout.ToString(), StringComparison.Ordinal);
        using var client = new StudioClient(endpoint, key);
        var labeled = 0;
        for (var id = 1; id <= 8; id++)
        {
            var sample = await client.GetSampleAsync(1, id, null, default);
            Assert.Equal("owlv2", sample.Metadata!["labeled_by"]);
            labeled += sample.BoundingBoxes.Count > 0 ? 1 : 0;
        }
        Assert.True(labeled >= 6, $"only {labeled} of 8 samples got boxes");
    }

    [SkippableFact]
    public async Task Block_WithABroker_PublishesTheJob_FollowsItsEvents_AndExitsAsInProcess()
    {
        Skip.If(infra.SkipReason is not null, infra.SkipReason);
        const string key = StudioKey;
        var (emulator, endpoint) = await StartStudioAsync(seed: 23);
        await using var _ = emulator;
        await using var d = await StartDeploymentAsync(endpoint);
        await File.WriteAllTextAsync(Path.Combine(_root, "ids.json"), "[1,2,3,4,5,6,7,8]");
        // As Studio runs the block, plus the deployment's broker; no gateway URL.
        var environment = new Dictionary<string, string?>
        {
            ["EI_PROJECT_API_KEY"] = key, ["EI_API_ENDPOINT"] = endpoint, ["EI_PROJECT_ID"] = "1", ["OWLBOX_GATEWAY_URL"] = null,
        };
        foreach (var k in new[] { "Owlbox__Transport", "Owlbox__RabbitMq__Host", "Owlbox__RabbitMq__Port", "Owlbox__RabbitMq__VirtualHost" })
        {
            environment[k] = d.Environment[k];
        }
        string[] Args(string prompt) => ["block", "--data-ids-file", Path.Combine(_root, "ids.json"), "--model", Deployment.ModelId,
            "--prompt", prompt, "--delete_existing_bounding_boxes", "yes", "--nms"];

        var run = await WithEnvironmentAsync(environment, () => RunAsync(Args(Datasets.Prompt.Replace("\n", "\\n", StringComparison.Ordinal))));
        var rejected = await WithEnvironmentAsync(environment, () => RunAsync(Args("red (red, 0.5)\\nblue (blue, 2)")));

        Assert.True(run.Exit == OwlboxCli.Ok, $"{run.Out}\n{run.Err}");
        Assert.Matches(@"\[[1-8]/8\] Labeling 3\.\.\. OK", run.Out);
        Assert.Contains("Labeled 8 of 8", run.Out, StringComparison.Ordinal);
        using var client = new StudioClient(endpoint, key);
        for (var id = 1; id <= 8; id++)
        {
            Assert.Equal("owlv2", (await client.GetSampleAsync(1, id, null, default)).Metadata!["labeled_by"]);
        }
        Assert.Equal(OwlboxCli.SetupError, rejected.Exit);
        Assert.Contains("line 2", rejected.Err, StringComparison.Ordinal);
    }

    private const string StudioKey = "ei_deployment_test_key";

    /// <summary>An emulated Studio project of 8 generated images (ids 1-8), no labels yet.</summary>
    private async Task<(Microsoft.AspNetCore.Builder.WebApplication Emulator, string Endpoint)> StartStudioAsync(int seed)
    {
        var images = Path.Combine(_root, "ei");
        Datasets.Create(images, 8, seed);
        File.Delete(Path.Combine(images, "bounding_boxes.labels"));
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var emulator = EmulatorApp.Build(images, StudioKey, [$"http://127.0.0.1:{port}"]);
        await emulator.StartAsync();
        return (emulator, $"http://127.0.0.1:{port}/v1");
    }

    /// <summary>The four services, holding the project's key, with the emulator as the Studio they may call.</summary>
    private Task<Deployment> StartDeploymentAsync(string endpoint) => Deployment.StartAsync(infra, _root, environmentForAll: new Dictionary<string, string>
    {
        ["EI_PROJECT_API_KEY"] = StudioKey,
        ["Owlbox__EdgeImpulse__Endpoints__0"] = endpoint,
    });

    private static async Task<(int Exit, string Out, string Err)> RunAsync(string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await OwlboxCli.RunAsync(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static async Task<T> WithEnvironmentAsync<T>(Dictionary<string, string?> environment, Func<Task<T>> run)
    {
        var saved = environment.Keys.ToDictionary(k => k, Environment.GetEnvironmentVariable);
        foreach (var (k, v) in environment)
        {
            Environment.SetEnvironmentVariable(k, v);
        }
        try
        {
            return await run();
        }
        finally
        {
            foreach (var (k, v) in saved)
            {
                Environment.SetEnvironmentVariable(k, v);
            }
        }
    }
}
