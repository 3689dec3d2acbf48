using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using DotNet.Testcontainers.Builders;
using Testcontainers.PostgreSql;
using Testcontainers.RabbitMq;

// One test at a time: some stop the shared PostgreSQL or RabbitMQ, which would break any test running beside them.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Owlbox.Integration.Tests;

/// <summary>
/// A real RabbitMQ and PostgreSQL: Debian's, started by <c>.ci/services.sh</c> and named by OWLBOX_TEST_RABBITMQ and
/// OWLBOX_TEST_POSTGRES (the path that runs here and in CI); otherwise containers where a Docker engine exists;
/// otherwise the tests are skipped with the reason.
/// </summary>
public sealed class Infrastructure : IAsyncLifetime
{
    private RabbitMqContainer? _rabbit;
    private PostgreSqlContainer? _postgres;

    public string? SkipReason { get; private set; }
    public string RabbitHost { get; private set; } = "";
    public ushort RabbitPort { get; private set; } = 5672;
    public Uri ManagementUri { get; private set; } = new("http://127.0.0.1:15672");
    public string PostgresConnectionString { get; private set; } = "";

    /// <summary>True when the broker is the local Debian one, which tests may stop and start with rabbitmqctl.</summary>
    public bool LocalBroker { get; private set; }

    public async Task InitializeAsync()
    {
        var host = Environment.GetEnvironmentVariable("OWLBOX_TEST_RABBITMQ");
        var pg = Environment.GetEnvironmentVariable("OWLBOX_TEST_POSTGRES");
        if (host is { Length: > 0 } && pg is { Length: > 0 })
        {
            (RabbitHost, PostgresConnectionString, LocalBroker) = (host, pg, true);
            ManagementUri = new Uri($"http://{host}:15672");
            return;
        }
        try
        {
            _rabbit = new RabbitMqBuilder("rabbitmq:3.13-management").WithUsername("guest").WithPassword("guest").Build();
            _postgres = new PostgreSqlBuilder("postgres:16").Build();
            await Task.WhenAll(_rabbit.StartAsync(), _postgres.StartAsync());
            RabbitHost = _rabbit.Hostname;
            RabbitPort = _rabbit.GetMappedPublicPort(5672);
            ManagementUri = new Uri($"http://{_rabbit.Hostname}:{_rabbit.GetMappedPublicPort(15672)}");
            PostgresConnectionString = _postgres.GetConnectionString();
        }
        catch (DockerUnavailableException e)
        {
            SkipReason = $"no RabbitMQ/PostgreSQL: set OWLBOX_TEST_RABBITMQ and OWLBOX_TEST_POSTGRES (run .ci/services.sh) or provide a Docker engine ({e.Message})";
        }
    }

    public async Task DisposeAsync()
    {
        if (_rabbit is not null)
        {
            await _rabbit.DisposeAsync();
        }
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    public HttpClient Management()
    {
        var http = new HttpClient { BaseAddress = ManagementUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes("guest:guest")));
        return http;
    }

    /// <summary>A fresh virtual host, so each test has its own queues.</summary>
    public async Task<string> CreateVirtualHostAsync()
    {
        var vhost = "owlbox-test-" + Guid.NewGuid().ToString("N")[..8];
        using var http = Management();
        (await http.PutAsync($"/api/vhosts/{vhost}", null)).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync($"/api/permissions/{vhost}/guest", new { configure = ".*", write = ".*", read = ".*" })).EnsureSuccessStatusCode();
        return vhost;
    }

    public async Task DeleteVirtualHostAsync(string vhost)
    {
        using var http = Management();
        await http.DeleteAsync($"/api/vhosts/{vhost}");
    }
}
