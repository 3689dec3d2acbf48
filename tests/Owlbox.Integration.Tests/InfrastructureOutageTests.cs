using System.Diagnostics;
using Owlbox.Cli;

namespace Owlbox.Integration.Tests;

/// <summary>The job store's database going away mid-job on the four-process deployment: no healthy image may be
/// failed, and the job ends identical to the one-process run. These stop the local Debian PostgreSQL, so the
/// integration tests run one at a time (see <see cref="Infrastructure"/>).</summary>
public sealed class InfrastructureOutageTests(Infrastructure infra) : IClassFixture<Infrastructure>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("owlbox-outage-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [SkippableFact]
    public async Task Postgres_Stopped30Seconds_MidJob_JobCompletesIdenticalToACleanRun_NothingInErrorQueues()
    {
        var expected = await PrepareAsync(seed: 5);
        await using var d = await Deployment.StartAsync(infra, _root);

        var job = await d.SubmitAsync(Path.Combine(_root, "four"), Datasets.Prompt, deleteExisting: "no");
        var before = await d.WaitAsync(job, s => Deployment.Written(s) >= 10, TimeSpan.FromMinutes(2));
        using var probe = new HttpClient();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await probe.GetAsync(new Uri(d.Url("writer"), "/readyz"))).StatusCode);
        await PostgresAsync("stop");
        await Task.Delay(TimeSpan.FromSeconds(2));
        // Not ready while the store is down (no traffic is sent its way), still alive (not restarted).
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, (await probe.GetAsync(new Uri(d.Url("writer"), "/readyz"))).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await probe.GetAsync(new Uri(d.Url("writer"), "/healthz"))).StatusCode);
        using (var http = d.Gateway())
        {
            // A status call while the store is down is a clear 503, not an empty 500.
            using var during = await http.GetAsync($"/v1/jobs/{job}");
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, during.StatusCode);
            Assert.Contains("unavailable", await during.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        await Task.Delay(TimeSpan.FromSeconds(28));
        await PostgresAsync("start");
        var done = await d.WaitAsync(job, Deployment.IsFinal, TimeSpan.FromMinutes(6));

        Assert.True(Deployment.Written(before) < 250, $"the job was nearly done before the outage: {before}");
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal((300, 0), (Deployment.Written(done), done.GetProperty("failed").GetInt32()));
        Datasets.AssertSameBoxes(expected, Datasets.BoxesByImage(Path.Combine(_root, "four")));
        using var management = infra.Management();
        Assert.Equal(0, await ErrorMessagesAsync(management, d.VirtualHost));
        // The outage was logged, with timestamps, and no log line carries a secret.
        var logs = string.Join("\n", d.Processes.Select(p => p.Log));
        Assert.Matches(@"(?m)^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z (warn|fail|crit)", logs);
        var password = new Npgsql.NpgsqlConnectionStringBuilder(infra.PostgresConnectionString).Password!;
        Assert.DoesNotContain($"Password={password}", logs, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Deployment.ApiKey, logs, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task RetriesExhaustedByAnOutage_LeaveTheJobStalled_NotFailed_AndRedriveFinishesIt()
    {
        var expected = await PrepareAsync(seed: 9);
        // Retries that an outage outlasts: the messages end in the error queues.
        await using var d = await Deployment.StartAsync(infra, _root, environmentForAll: new Dictionary<string, string>
        {
            ["Owlbox__InfrastructureRetryLimit"] = "1",
            ["Owlbox__InfrastructureRetryMaxInterval"] = "00:00:01",
            ["Owlbox__StalledAfter"] = "00:00:03",
        });

        var job = await d.SubmitAsync(Path.Combine(_root, "four"), Datasets.Prompt, deleteExisting: "no");
        var before = await d.WaitAsync(job, s => Deployment.Written(s) >= 5, TimeSpan.FromMinutes(2));
        await PostgresAsync("stop");
        Assert.True(Deployment.Written(before) < 250, $"the job was nearly done before the outage: {before}");
        await Task.Delay(TimeSpan.FromSeconds(12));
        await PostgresAsync("start");
        var stalled = await d.WaitAsync(job, s => s.GetProperty("stalled").GetBoolean(), TimeSpan.FromMinutes(2));
        using var management = infra.Management();
        // Messages still retrying when the database came back may park after the job reads as stalled: redrive once
        // the error queues stopped growing (a redrive takes what is parked when it runs; once seen, a later fault was
        // left behind after the job completed).
        var parked = await SettledErrorMessagesAsync(management, d.VirtualHost);

        using var stdout = new StringWriter();
        var exit = await OwlboxCli.RunAsync(["jobs", "redrive", job.ToString(), .. d.Environment.Select(kv => $"--{kv.Key.Replace("__", ":", StringComparison.Ordinal)}={kv.Value}")],
            stdout, new StringWriter());
        var done = await d.WaitAsync(job, Deployment.IsFinal, TimeSpan.FromMinutes(3));

        Assert.True(stalled.GetProperty("failed").GetInt32() == 0, stalled.ToString());
        Assert.True(parked > 0, "no message reached an error queue: the outage was too short to test redrive");
        Assert.Equal(OwlboxCli.Ok, exit);
        Assert.Matches($@"redrove [1-9]\d* messages of job {job}; 0 of other jobs", stdout.ToString());
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal((300, 0), (Deployment.Written(done), done.GetProperty("failed").GetInt32()));
        Datasets.AssertSameBoxes(expected, Datasets.BoxesByImage(Path.Combine(_root, "four")));
        // The management API's counts lag the queues (refreshed every 5 s, later under load): a count that stays
        // above zero for a minute is a message left behind, one that drops was a stale reading.
        var left = await ErrorQueuesAsync(management, d.VirtualHost);
        for (var i = 0; i < 10 && left.Values.Sum() > 0; i++)
        {
            left = await ErrorQueuesAsync(management, d.VirtualHost);
        }
        Assert.True(left.Values.Sum() == 0, string.Join(", ", left.Select(q => $"{q.Key}: {q.Value}")) + $" after {parked} parked and '{stdout.ToString().Trim()}'");
    }

    /// <summary>300 images (large enough that the job still runs when the database goes: 60 took 4.5 s on CI) in
    /// "one" and "four", and the one-process run's boxes on "one".</summary>
    private async Task<Dictionary<string, string>> PrepareAsync(int seed)
    {
        Skip.IfNot(infra.SkipReason is null && infra.LocalBroker, infra.SkipReason ?? "stopping PostgreSQL needs the local Debian cluster");
        var source = Datasets.Create(Path.Combine(_root, "source"), 300, seed);
        Datasets.Copy(source, Path.Combine(_root, "one"));
        Datasets.Copy(source, Path.Combine(_root, "four"));
        return await Datasets.OneProcessBoxesAsync(Path.Combine(_root, "one"), "no");
    }

    private static async Task PostgresAsync(string action)
    {
        var version = Directory.GetDirectories("/etc/postgresql").Select(Path.GetFileName).OrderBy(v => double.Parse(v!, System.Globalization.CultureInfo.InvariantCulture)).Last()!;
        var info = new ProcessStartInfo(Environment.UserName == "root" ? "pg_ctlcluster" : "sudo") { UseShellExecute = false };
        foreach (var a in (string[])[.. Environment.UserName == "root" ? [] : (string[])["-n", "pg_ctlcluster"], version, "main", action, .. action == "stop" ? ["-m", "fast"] : (string[])[]])
        {
            info.ArgumentList.Add(a);
        }
        using var p = Process.Start(info)!;
        await p.WaitForExitAsync();
        Assert.Equal(0, p.ExitCode);
    }

    /// <summary>Messages in every error queue of the virtual host.</summary>
    private static async Task<int> ErrorMessagesAsync(HttpClient management, string vhost) =>
        (await ErrorQueuesAsync(management, vhost)).Values.Sum();

    private static async Task<int> SettledErrorMessagesAsync(HttpClient management, string vhost)
    {
        var last = (await ErrorQueuesAsync(management, vhost)).Values.Sum();
        for (var i = 0; i < 10; i++)
        {
            var now = (await ErrorQueuesAsync(management, vhost)).Values.Sum();
            if (now == last)
            {
                return now;
            }
            last = now;
        }
        return last;
    }

    private static async Task<Dictionary<string, int>> ErrorQueuesAsync(HttpClient management, string vhost)
    {
        await Task.Delay(6000); // the management API's counts are refreshed every 5 s
        var json = System.Text.Json.JsonDocument.Parse(await management.GetStringAsync($"/api/queues/{vhost}"));
        return json.RootElement.EnumerateArray()
            .Where(q => q.GetProperty("name").GetString()!.EndsWith("_error", StringComparison.Ordinal))
            .ToDictionary(q => q.GetProperty("name").GetString()!, q => q.TryGetProperty("messages", out var m) ? m.GetInt32() : 0);
    }
}
