using System.Net.Http.Json;
using System.Text.Json;

namespace Owlbox.Integration.Tests;

/// <summary>The four services as separate processes on one RabbitMQ virtual host and one PostgreSQL database, with a
/// shared claim-check folder, as a Kubernetes deployment runs them.</summary>
public sealed class Deployment : IAsyncDisposable
{
    public const string ApiKey = "integration-test-key";
    public const string ModelId = "owlv2-test";

    private readonly Infrastructure _infra;
    private readonly Dictionary<string, OwlboxProcess> _processes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _ports = new(StringComparer.Ordinal);
    private readonly string _root;

    private Deployment(Infrastructure infra, string vhost, string root)
    {
        (_infra, VirtualHost, _root) = (infra, vhost, root);
        Environment = new Dictionary<string, string>
        {
            ["Owlbox__Transport"] = "rabbitmq",
            ["Owlbox__RabbitMq__Host"] = infra.RabbitHost,
            ["Owlbox__RabbitMq__Port"] = infra.RabbitPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Owlbox__RabbitMq__VirtualHost"] = vhost,
            ["Owlbox__PostgresConnectionString"] = infra.PostgresConnectionString,
            ["Owlbox__MessageDataDirectory"] = Path.Combine(root, "blobs"),
            [$"Owlbox__Models__{ModelId}"] = Path.Combine(OwlboxProcess.RepoRoot, "models", "owlv2-test"),
            ["Owlbox__Gateway__ApiKeys__0"] = ApiKey,
            // Every test dataset lives under the test's own folder.
            ["Owlbox__Datasets__LocalRoots__0"] = root,
            ["Owlbox__RetryLimit"] = "3",
            // Small enough that every test image goes through the shared claim-check folder.
            ["Owlbox__InlineImageBytes"] = "1024",
            ["Logging__LogLevel__Default"] = "Warning",
        };
    }

    public string VirtualHost { get; }
    public Dictionary<string, string> Environment { get; }

    public static async Task<Deployment> StartAsync(Infrastructure infra, string root, IReadOnlyDictionary<string, string>? writerEnvironment = null,
        IReadOnlyDictionary<string, string>? environmentForAll = null)
    {
        var d = new Deployment(infra, await infra.CreateVirtualHostAsync(), root);
        foreach (var (k, v) in environmentForAll ?? new Dictionary<string, string>())
        {
            d.Environment[k] = v;
        }
        foreach (var role in new[] { "gateway", "fetcher", "detector", "writer" })
        {
            await d.StartAsync(role, role == "writer" ? writerEnvironment : null);
        }
        return d;
    }

    public OwlboxProcess this[string role] => _processes[role];

    public async Task StartAsync(string role, IReadOnlyDictionary<string, string>? extra = null)
    {
        if (_processes.Remove(role, out var old))
        {
            old.Dispose();
        }
        var env = new Dictionary<string, string>(Environment);
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
        {
            env[k] = v;
        }
        // A restarted gateway comes back on its old address, as behind a Kubernetes service.
        _processes[role] = await OwlboxProcess.StartAsync(role, env, _ports.GetValueOrDefault(role) is > 0 and var p ? p : null);
        _ports[role] = _processes[role].Port;
    }

    /// <summary>A role's own address (each serves /healthz and /readyz).</summary>
    public Uri Url(string role) => new($"http://127.0.0.1:{_ports[role]}");

    public IEnumerable<OwlboxProcess> Processes => _processes.Values;

    public HttpClient Gateway()
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_ports["gateway"]}"), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("x-api-key", ApiKey);
        return http;
    }

    /// <param name="verification">The job's verification stage, as the API takes it (null: none).</param>
    public async Task<Guid> SubmitAsync(string dataset, string prompt, string deleteExisting = "matching-prompt", object? verification = null)
    {
        using var http = Gateway();
        var response = await http.PostAsJsonAsync("/v1/jobs", new
        {
            dataset = new { kind = "local", location = dataset },
            model = ModelId,
            prompt,
            options = new { scoreFloor = 0.1, nms = true, nmsIouThreshold = 0.2, classAgnosticNms = false, ignoreSmallerThanPercent = 0.0, ignoreLargerThanPercent = 0.0, deleteExisting },
            verification,
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("jobId").GetGuid();
    }

    public async Task<JsonElement> StatusAsync(Guid jobId)
    {
        using var http = Gateway();
        return JsonDocument.Parse(await http.GetStringAsync($"/v1/jobs/{jobId}")).RootElement.Clone();
    }

    public async Task<JsonElement> WaitAsync(Guid jobId, Func<JsonElement, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonElement status = default;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                status = await StatusAsync(jobId);
                if (condition(status))
                {
                    return status;
                }
            }
            catch (HttpRequestException)
            {
                // the gateway may be restarting
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"job {jobId} did not get there; last status {status}\n" +
            string.Join("\n", _processes.Select(p => $"--- {p.Key}\n{p.Value.Log}")));
    }

    public static bool IsFinal(JsonElement s) => s.GetProperty("status").GetString() is "completed" or "completed-with-failures" or "cancelled";

    public static int Written(JsonElement s) => s.GetProperty("written").GetInt32();

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _processes.Values)
        {
            p.Dispose();
        }
        await _infra.DeleteVirtualHostAsync(VirtualHost);
    }
}
