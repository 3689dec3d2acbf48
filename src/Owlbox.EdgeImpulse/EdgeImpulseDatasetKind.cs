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
    private readonly ConcurrentDictionary<(string Endpoint, string Key), StudioClient> _clients = new();
    private readonly ProjectListings _listings = new(TimeSpan.FromSeconds(30));

    public const string Kind = "edge-impulse";

    public static string Location(string endpoint, int projectId) => $"{endpoint.TrimEnd('/')}#{projectId}";

    public string Name => Kind;

    public IDatasetBackend Open(string location)
    {
        var hash = location.LastIndexOf('#');
        if (hash < 0 || !int.TryParse(location[(hash + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var projectId))
        {
            throw new DatasetException($"an {Kind} location is '<endpoint>#<project id>', got '{LocalDatasetAccess.Shorten(location)}'");
        }
        var endpoint = EdgeImpulseEndpoints.RequireAllowed(location[..hash], edgeImpulse.Endpoints);
        var key = (edgeImpulse.ProjectApiKeys.TryGetValue(projectId.ToString(System.Globalization.CultureInfo.InvariantCulture), out var k) ? k : defaultApiKey())
            ?? throw new CredentialNotHeldException($"no Edge Impulse API key for project {projectId} in this process (set EI_PROJECT_API_KEY or Owlbox:EdgeImpulse:ProjectApiKeys:{projectId})");
        var client = _clients.GetOrAdd((endpoint, key), c => new StudioClient(c.Endpoint, c.Key, options));
        return new EdgeImpulseDatasetBackend(client, projectId, _listings);
    }

    public void Dispose()
    {
        foreach (var c in _clients.Values)
        {
            c.Dispose();
        }
    }
}
