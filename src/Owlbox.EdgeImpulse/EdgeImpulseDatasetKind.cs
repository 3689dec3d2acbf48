using System.Collections.Concurrent;
using Owlbox.Datasets;

namespace Owlbox.EdgeImpulse;

/// <summary>
/// Opens "edge-impulse" projects (the <see cref="IDatasetKind"/> <c>Owlbox.Datasets</c>' factory dispatches to). A
/// project location is <c>{endpoint}#{projectId}</c>; the endpoint must be one the deployment lists and
/// the API key is this process's own (per project from configuration, else <c>EI_PROJECT_API_KEY</c>), so keys never
/// travel in jobs, messages or the job store, and never go to an address a request chose.
/// </summary>
public sealed class EdgeImpulseDatasetKind(EdgeImpulseAccessOptions edgeImpulse, Func<string?> defaultApiKey,
    StudioClientOptions? options = null) : IDatasetKind, IDisposable
{
    private readonly ConcurrentDictionary<(string Endpoint, string Key), (StudioClient Client, DateTimeOffset Until)> _clients = new();
    private readonly ProjectListings _listings = new(TimeSpan.FromSeconds(30));
    private readonly ProjectKeySealer _sealer = new(edgeImpulse.SealingKeys);

    public const string Kind = "edge-impulse";

    public static string Location(string endpoint, int projectId) => $"{endpoint.TrimEnd('/')}#{projectId}";

    /// <summary>What a project key is sealed for: the project at its endpoint, in the endpoint's canonical spelling.</summary>
    public static string SealedFor(string endpoint, int projectId) => $"{EdgeImpulseEndpoints.Normalize(endpoint)}#{projectId}";

    public string Name => Kind;

    /// <param name="credential">The job's own project key, sealed for this deployment (one fleet, many projects);
    /// without it, this process's key for the project.</param>
    public IDatasetBackend Open(string location, JobCredential? credential)
    {
        var hash = location.LastIndexOf('#');
        if (hash < 0 || !int.TryParse(location[(hash + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var projectId))
        {
            throw new DatasetException($"an {Kind} location is '<endpoint>#<project id>', got '{LocalDatasetAccess.Shorten(location)}'");
        }
        var endpoint = EdgeImpulseEndpoints.RequireAllowed(location[..hash], edgeImpulse.Endpoints);
        var now = DateTimeOffset.UtcNow;
        string key;
        var until = DateTimeOffset.MaxValue;
        if (credential is not null)
        {
            var sealedKey = SealedProjectKey.FromJson(credential.Sealed);
            key = _sealer.Open(sealedKey, credential.JobId, SealedFor(endpoint, projectId), now);
            until = sealedKey.ExpiresUtc; // a job's key leaves this process's memory when it expires
        }
        else
        {
            key = (edgeImpulse.ProjectApiKeys.TryGetValue(projectId.ToString(System.Globalization.CultureInfo.InvariantCulture), out var k) ? k : defaultApiKey())
                ?? throw new CredentialNotHeldException($"no Edge Impulse API key for project {projectId} in this process (set EI_PROJECT_API_KEY or Owlbox:EdgeImpulse:ProjectApiKeys:{projectId})");
        }
        ForgetExpired(now);
        var client = _clients.AddOrUpdate((endpoint, key), c => (new StudioClient(c.Endpoint, c.Key, options), until),
            (_, old) => (old.Client, old.Until > until ? old.Until : until)).Client;
        return new EdgeImpulseDatasetBackend(client, projectId, _listings);
    }

    private void ForgetExpired(DateTimeOffset now)
    {
        foreach (var (id, entry) in _clients)
        {
            if (entry.Until < now && _clients.TryRemove(id, out var removed))
            {
                removed.Client.Dispose();
            }
        }
    }

    public void Dispose()
    {
        foreach (var c in _clients.Values)
        {
            c.Client.Dispose();
        }
    }
}
