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
            ["EI_PROJECT_API_KEY"] = key,
            ["EI_API_ENDPOINT"] = endpoint,
            ["EI_PROJECT_ID"] = "1",
            ["OWLBOX_GATEWAY_URL"] = null,
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

    [SkippableFact]
    public async Task Block_WithAGateway_WhoseProjectKeyIsWrong_ExitsOneWithStudiosReason_NotAServerError()
    {
        Skip.If(infra.SkipReason is not null, infra.SkipReason);
        var (emulator, endpoint) = await StartStudioAsync(seed: 25);
        await using var _ = emulator;
        await using var d = await StartDeploymentAsync(endpoint, key: "ei_not_this_projects_key");
        await File.WriteAllTextAsync(Path.Combine(_root, "ids.json"), "[1,2]");
        var environment = new Dictionary<string, string?>
        {
            ["EI_PROJECT_API_KEY"] = StudioKey,
            ["EI_API_ENDPOINT"] = endpoint,
            ["EI_PROJECT_ID"] = "1",
            ["OWLBOX_GATEWAY_URL"] = d.Gateway().BaseAddress!.ToString(),
            ["OWLBOX_API_KEY"] = Deployment.ApiKey,
        };

        var run = await WithEnvironmentAsync(environment, () => RunAsync(["block", "--data-ids-file", Path.Combine(_root, "ids.json"),
            "--model", Deployment.ModelId, "--prompt", "red", "--nms"]));

        Assert.True(run.Exit == OwlboxCli.SetupError, $"exit {run.Exit}: {run.Out}\n{run.Err}");
        Assert.Contains("refused the job (400)", run.Err, StringComparison.Ordinal);
        Assert.Contains("project 1 could not be listed", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("ei_not_this_projects_key", run.Out + run.Err, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task OneFleet_TwoProjectsWithTheirOwnKeys_LabeledAtOnce_AndNoKeyInTheStoreOrTheLogs()
    {
        Skip.If(infra.SkipReason is not null, infra.SkipReason);
        const string keyA = "ei_aaaa1111aaaa1111aaaa1111aaaa1111", keyB = "ei_bbbb2222bbbb2222bbbb2222bbbb2222";
        var (studioA, endpointA) = await StartStudioAsync(seed: 31, "ei-a", keyA);
        await using var _ = studioA;
        var (studioB, endpointB) = await StartStudioAsync(seed: 32, "ei-b", keyB);
        await using var __ = studioB;
        var sealing = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        // The fleet holds no project key at all: only the key that opens the ones jobs bring.
        await using var d = await Deployment.StartAsync(infra, _root, environmentForAll: new Dictionary<string, string>
        {
            ["Owlbox__EdgeImpulse__Endpoints__0"] = endpointA,
            ["Owlbox__EdgeImpulse__Endpoints__1"] = endpointB,
            ["Owlbox__EdgeImpulse__SealingKeys__k1"] = sealing,
        });
        await File.WriteAllTextAsync(Path.Combine(_root, "ids.json"), "[1,2,3,4,5,6,7,8]");
        // Every message published in the deployment's virtual host, copied by RabbitMQ's firehose into a queue read at the end.
        await using var tap = infra.LocalBroker ? await FirehoseTap.StartAsync(infra, d.VirtualHost) : null;
        Dictionary<string, string?> Block(string key, string endpoint)
        {
            var environment = new Dictionary<string, string?>
            {
                ["EI_PROJECT_API_KEY"] = key,
                ["EI_API_ENDPOINT"] = endpoint,
                ["EI_PROJECT_ID"] = "1",
                ["OWLBOX_GATEWAY_URL"] = null,
                ["Owlbox__EdgeImpulse__SealingKeys__k1"] = sealing,
                ["Owlbox__EdgeImpulse__SealingKeyId"] = "k1",
            };
            foreach (var k in new[] { "Owlbox__Transport", "Owlbox__RabbitMq__Host", "Owlbox__RabbitMq__Port", "Owlbox__RabbitMq__VirtualHost" })
            {
                environment[k] = d.Environment[k];
            }
            return environment;
        }
        string[] args = ["block", "--data-ids-file", Path.Combine(_root, "ids.json"), "--model", Deployment.ModelId, "--prompt",
            Datasets.Prompt.Replace("\n", "\\n", StringComparison.Ordinal), "--nms"];

        // At once: project B's block in its own process, project A's in this one.
        var other = System.Diagnostics.Process.Start(BlockProcess(args, Block(keyB, endpointB)))!;
        var outB = other.StandardOutput.ReadToEndAsync();
        var errB = other.StandardError.ReadToEndAsync();
        var runA = await WithEnvironmentAsync(Block(keyA, endpointA), () => RunAsync(args));
        await other.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));

        Assert.True(runA.Exit == OwlboxCli.Ok, $"{runA.Out}\n{runA.Err}");
        Assert.True(other.ExitCode == OwlboxCli.Ok, $"{await outB}\n{await errB}");
        foreach (var (endpoint, key) in new[] { (endpointA, keyA), (endpointB, keyB) })
        {
            using var client = new StudioClient(endpoint, key);
            for (var id = 1; id <= 8; id++)
            {
                Assert.Equal("owlv2", (await client.GetSampleAsync(1, id, null, default)).Metadata!["labeled_by"]);
            }
        }
        await using var db = new Npgsql.NpgsqlConnection(infra.PostgresConnectionString);
        await db.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand(
            "SELECT coalesce(string_agg(spec, ''), '') || (SELECT coalesce(string_agg(sealed, ''), '') FROM owlbox_job_credentials) FROM owlbox_jobs", db);
        var stored = (string)(await cmd.ExecuteScalarAsync())!;
        await using var left = new Npgsql.NpgsqlCommand("SELECT count(*) FROM owlbox_job_credentials", db);
        Assert.Equal(0L, (long)(await left.ExecuteScalarAsync())!); // forgotten with their jobs
        var messages = tap is null ? [] : await tap.ReadAllAsync();
        Assert.True(tap is null || messages.Count(m => m.Contains("sealedProjectKey", StringComparison.Ordinal) && m.Contains("ciphertext", StringComparison.Ordinal)) >= 2,
            $"the tap saw {messages.Count} messages, not both sealed submissions");
        foreach (var text in new[] { stored, runA.Out, runA.Err, await outB, await errB }.Concat(d.Processes.Select(p => p.Log)).Concat(messages))
        {
            Assert.DoesNotContain(keyA, text, StringComparison.Ordinal);
            Assert.DoesNotContain(keyB, text, StringComparison.Ordinal);
        }
    }

    private static System.Diagnostics.ProcessStartInfo BlockProcess(string[] args, Dictionary<string, string?> environment)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(OwlboxProcess.OwlboxDll);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        foreach (var (k, v) in environment)
        {
            start.Environment[k] = v;
        }
        return start;
    }

    /// <summary>An emulated Studio project of 8 generated images (ids 1-8), no labels yet.</summary>
    private async Task<(Microsoft.AspNetCore.Builder.WebApplication Emulator, string Endpoint)> StartStudioAsync(int seed, string folder = "ei", string key = StudioKey)
    {
        var images = Path.Combine(_root, folder);
        Datasets.Create(images, 8, seed);
        File.Delete(Path.Combine(images, "bounding_boxes.labels"));
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var emulator = EmulatorApp.Build(images, key, [$"http://127.0.0.1:{port}"]);
        await emulator.StartAsync();
        return (emulator, $"http://127.0.0.1:{port}/v1");
    }

    /// <summary>The four services, holding the project's key, with the emulator as the Studio they may call.</summary>
    private Task<Deployment> StartDeploymentAsync(string endpoint, string key = StudioKey) => Deployment.StartAsync(infra, _root, environmentForAll: new Dictionary<string, string>
    {
        ["EI_PROJECT_API_KEY"] = key,
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

    /// <summary>RabbitMQ's firehose (<c>rabbitmqctl trace_on</c>) for one virtual host, into a queue of its own.</summary>
    private sealed class FirehoseTap : IAsyncDisposable
    {
        private const string Queue = "owlbox-test-firehose";
        private readonly string _vhost;
        private readonly RabbitMQ.Client.IConnection _connection;

        private FirehoseTap(string vhost, RabbitMQ.Client.IConnection connection) => (_vhost, _connection) = (vhost, connection);

        public static async Task<FirehoseTap> StartAsync(Infrastructure infra, string vhost)
        {
            var factory = new RabbitMQ.Client.ConnectionFactory { HostName = infra.RabbitHost, Port = infra.RabbitPort, VirtualHost = vhost };
            var connection = await factory.CreateConnectionAsync();
            await using (var channel = await connection.CreateChannelAsync())
            {
                await channel.QueueDeclareAsync(Queue, durable: false, exclusive: false, autoDelete: false);
                await channel.QueueBindAsync(Queue, "amq.rabbitmq.trace", "publish.#");
            }
            await CtlAsync("trace_on", "-p", vhost);
            return new FirehoseTap(vhost, connection);
        }

        public async Task<IReadOnlyList<string>> ReadAllAsync()
        {
            var bodies = new List<string>();
            await using var channel = await _connection.CreateChannelAsync();
            while (await channel.BasicGetAsync(Queue, autoAck: true) is { } message)
            {
                bodies.Add(System.Text.Encoding.UTF8.GetString(message.Body.Span));
            }
            return bodies;
        }

        public async ValueTask DisposeAsync()
        {
            await CtlAsync("trace_off", "-p", _vhost);
            await _connection.DisposeAsync();
        }

        private static async Task CtlAsync(params string[] args)
        {
            using var p = System.Diagnostics.Process.Start("rabbitmqctl", args)!;
            await p.WaitForExitAsync();
            Assert.Equal(0, p.ExitCode);
        }
    }
}
