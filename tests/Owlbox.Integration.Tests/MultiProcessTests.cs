namespace Owlbox.Integration.Tests;

/// <summary>The services as four separate processes on a real RabbitMQ and PostgreSQL, with processes killed and
/// restarted mid-job. Each test ends with every image's boxes identical to the one-process run.</summary>
public sealed class MultiProcessTests(Infrastructure infra) : IClassFixture<Infrastructure>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("owlbox-it-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [SkippableFact]
    public async Task Job200Images_DetectorKilledAndRestarted_SameBoxesAsOneProcess_AndStatusSurvivesGatewayRestart()
    {
        Skip.If(infra.SkipReason is not null, infra.SkipReason);
        var source = Datasets.Create(Path.Combine(_root, "source"), 200);
        Datasets.Copy(source, Path.Combine(_root, "one"));
        Datasets.Copy(source, Path.Combine(_root, "four"));
        var expected = await Datasets.OneProcessBoxesAsync(Path.Combine(_root, "one"), "matching-prompt");
        // Small writer batches, so "written" moves while the detector works: with the default (up to 256 results a
        // batch, filled while results keep coming) the first write can land after the last detection, and the kill
        // below would come after the job (seen once in CI).
        await using var d = await Deployment.StartAsync(infra, _root, environmentForAll: new Dictionary<string, string> { ["Owlbox__Writer__BatchMessageLimit"] = "8" });

        var job = await d.SubmitAsync(Path.Combine(_root, "four"), Datasets.Prompt);
        await d.WaitAsync(job, s => Deployment.Written(s) >= 20, TimeSpan.FromMinutes(2));
        d["detector"].Kill();
        var whileDown = await d.StatusAsync(job);
        await Task.Delay(1000);
        await d.StartAsync("detector");
        var done = await d.WaitAsync(job, Deployment.IsFinal, TimeSpan.FromMinutes(5));

        Assert.True(Deployment.Written(whileDown) < 200, $"the detector was killed after the job finished: {whileDown}");
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(200, Deployment.Written(done));
        Datasets.AssertSameBoxes(expected, Datasets.BoxesByImage(Path.Combine(_root, "four")));
        // matching-prompt kept each pre-existing "person" box; every other box is new.
        Assert.Equal(Datasets.BoxCount(expected, except: "person"), done.GetProperty("boxesAdded").GetInt32());

        d["gateway"].Kill();
        await d.StartAsync("gateway");
        var after = await d.StatusAsync(job);
        Assert.Equal(done.GetProperty("status").GetString(), after.GetProperty("status").GetString());
        Assert.Equal(Deployment.Written(done), Deployment.Written(after));
        Assert.Equal(done.GetProperty("boxesAdded").GetInt32(), after.GetProperty("boxesAdded").GetInt32());
        Assert.True(Deployment.Written(done) > Deployment.Written(whileDown), "nothing was written after the detector came back");
    }

    [SkippableFact]
    public async Task WriterCrashesAfterWritingBeforeAcknowledging_NoBoxIsDuplicated()
    {
        Skip.If(infra.SkipReason is not null, infra.SkipReason);
        var source = Datasets.Create(Path.Combine(_root, "source"), 40, seed: 7);
        Datasets.Copy(source, Path.Combine(_root, "one"));
        Datasets.Copy(source, Path.Combine(_root, "four"));
        // "no" keeps existing boxes and adds: the policy where re-applying to the written result would duplicate.
        var expected = await Datasets.OneProcessBoxesAsync(Path.Combine(_root, "one"), "no");
        var marker = Path.Combine(_root, "crash.marker");
        await using var d = await Deployment.StartAsync(infra, _root, new Dictionary<string, string> { ["Owlbox__Faults__CrashAfterWriteMarker"] = marker });

        var job = await d.SubmitAsync(Path.Combine(_root, "four"), Datasets.Prompt, deleteExisting: "no");
        await d["writer"].WaitForExitAsync(TimeSpan.FromMinutes(2));
        Assert.True(File.Exists(marker));
        await d.StartAsync("writer");
        var done = await d.WaitAsync(job, Deployment.IsFinal, TimeSpan.FromMinutes(3));

        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(40, Deployment.Written(done));
        Datasets.AssertSameBoxes(expected, Datasets.BoxesByImage(Path.Combine(_root, "four")));
    }

    [SkippableFact]
    public async Task PoisonMessages_GoToTheErrorQueue_AndDoNotBlockJobs()
    {
        Skip.If(infra.SkipReason is not null, infra.SkipReason);
        var dataset = Datasets.Create(Path.Combine(_root, "data"), 10, seed: 3);
        await using var d = await Deployment.StartAsync(infra, _root);
        using (var http = infra.Management())
        {
            // Not JSON at all (cannot be consumed: goes to the error queue), and a well-formed message about a job no
            // store knows (consumed and dropped: work for an unknown or cancelled job is never done).
            foreach (var payload in new[]
            {
                "{ this is not json",
                """{"messageType":["urn:message:Owlbox.Contracts.V1:FetchSample"],"message":{"jobId":"00000000-0000-0000-0000-000000000001","sampleId":"ghost.png"}}""",
            })
            {
                var r = await http.PostAsync($"/api/exchanges/{d.VirtualHost}/amq.default/publish", System.Net.Http.Json.JsonContent.Create(new
                {
                    properties = new { content_type = "application/vnd.masstransit+json", delivery_mode = 2 },
                    routing_key = "fetch-sample",
                    payload,
                    payload_encoding = "string",
                }));
                r.EnsureSuccessStatusCode();
            }
        }

        var job = await d.SubmitAsync(dataset, Datasets.Prompt);
        var done = await d.WaitAsync(job, Deployment.IsFinal, TimeSpan.FromMinutes(2));

        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(10, Deployment.Written(done));
        using var management = infra.Management();
        Assert.Equal(1, await WaitForQueueDepthAsync(management, d.VirtualHost, "fetch-sample_error", 1));
        Assert.Equal(0, await WaitForQueueDepthAsync(management, d.VirtualHost, "fetch-sample", 0));
    }

    [SkippableFact]
    public async Task BrokerRestartedMidJob_JobCompletesWithTheSameBoxes()
    {
        Skip.If(infra.SkipReason is not null, infra.SkipReason);
        Skip.IfNot(infra.LocalBroker, "restarting the broker needs the local Debian RabbitMQ");
        var source = Datasets.Create(Path.Combine(_root, "source"), 120, seed: 11);
        Datasets.Copy(source, Path.Combine(_root, "one"));
        Datasets.Copy(source, Path.Combine(_root, "four"));
        var expected = await Datasets.OneProcessBoxesAsync(Path.Combine(_root, "one"), "matching-prompt");
        await using var d = await Deployment.StartAsync(infra, _root);

        var job = await d.SubmitAsync(Path.Combine(_root, "four"), Datasets.Prompt);
        await d.WaitAsync(job, s => Deployment.Written(s) >= 10, TimeSpan.FromMinutes(2));
        await RabbitCtlAsync("stop_app");
        await Task.Delay(2000);
        await RabbitCtlAsync("start_app");
        var done = await d.WaitAsync(job, Deployment.IsFinal, TimeSpan.FromMinutes(5));

        Assert.Equal("completed", done.GetProperty("status").GetString());
        Datasets.AssertSameBoxes(expected, Datasets.BoxesByImage(Path.Combine(_root, "four")));
    }

    private static async Task RabbitCtlAsync(string command)
    {
        using var p = System.Diagnostics.Process.Start("rabbitmqctl", command)!;
        await p.WaitForExitAsync();
        Assert.Equal(0, p.ExitCode);
    }

    private static async Task<int> WaitForQueueDepthAsync(HttpClient management, string vhost, string queue, int expected)
    {
        var depth = -1;
        for (var i = 0; i < 100 && depth != expected; i++)
        {
            await Task.Delay(200);
            var json = await management.GetStringAsync($"/api/queues/{vhost}/{queue}");
            depth = System.Text.Json.JsonDocument.Parse(json).RootElement.TryGetProperty("messages", out var m) ? m.GetInt32() : -1;
        }
        return depth;
    }
}
