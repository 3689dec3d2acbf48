using System.Collections.Concurrent;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;

namespace Owlbox.EdgeImpulse;

/// <summary>
/// Opens "local" folders and "edge-impulse" projects. A project location is <c>{endpoint}#{projectId}</c>; the API key
/// is looked up by this process in its own environment (default variable <c>EI_PROJECT_API_KEY</c>), so keys never
/// travel in jobs, messages or the job store.
/// </summary>
public sealed class EdgeImpulseBackendFactory(Func<string?> apiKey, StudioClientOptions? options = null) : IDatasetBackendFactory, IDisposable
{
    private readonly ConcurrentDictionary<string, StudioClient> _clients = new(StringComparer.Ordinal);

    public const string Kind = "edge-impulse";

    public static string Location(string endpoint, int projectId) => $"{endpoint.TrimEnd('/')}#{projectId}";

    public IDatasetBackend Open(string kind, string location)
    {
        if (kind == "local")
        {
            return new LocalDatasetBackend(location);
        }
        if (kind != Kind)
        {
            throw new DatasetException($"unknown dataset kind '{kind}'; this deployment knows: local, {Kind}");
        }
        var hash = location.LastIndexOf('#');
        if (hash < 0 || !int.TryParse(location[(hash + 1)..], out var projectId))
        {
            throw new DatasetException($"an {Kind} location is '<endpoint>#<project id>', got '{location}'");
        }
        var endpoint = location[..hash];
        var key = apiKey() ?? throw new DatasetException("no Edge Impulse API key in this process (set EI_PROJECT_API_KEY)");
        var client = _clients.GetOrAdd(endpoint, e => new StudioClient(e, key, options));
        return new EdgeImpulseDatasetBackend(client, projectId);
    }

    public void Dispose()
    {
        foreach (var c in _clients.Values)
        {
            c.Dispose();
        }
    }
}
