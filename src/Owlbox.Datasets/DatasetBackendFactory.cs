using Owlbox.Datasets.Local;

namespace Owlbox.Datasets;

/// <summary>Opens a backend from a job's dataset reference: a kind ("local", "edge-impulse") and a location.</summary>
public interface IDatasetBackendFactory
{
    IDatasetBackend Open(string kind, string location);
}

/// <summary>One kind of dataset a deployment can open. The location comes from a request, so each kind checks it
/// against what the deployment allows before touching anything.</summary>
public interface IDatasetKind
{
    string Name { get; }

    IDatasetBackend Open(string location);
}

/// <summary>Local folders, inside the deployment's roots (<see cref="LocalDatasetAccess"/>).</summary>
public sealed class LocalDatasetKind(LocalDatasetAccess access) : IDatasetKind
{
    public const string KindName = "local";

    public string Name => KindName;

    public IDatasetBackend Open(string location) => new LocalDatasetBackend(access.Resolve(location), access);
}

/// <summary>The deployment's dataset kinds (local folders here; Edge Impulse projects from <c>Owlbox.EdgeImpulse</c>).</summary>
public sealed class DatasetBackendFactory(IEnumerable<IDatasetKind> kinds) : IDatasetBackendFactory
{
    private readonly IDatasetKind[] _kinds = kinds.ToArray();

    public IDatasetBackend Open(string kind, string location) =>
        (_kinds.FirstOrDefault(k => k.Name == kind) ?? throw new DatasetException(
            $"unknown dataset kind '{LocalDatasetAccess.Shorten(kind, 40)}'; this deployment knows: {string.Join(", ", _kinds.Select(k => k.Name))}"))
        .Open(location);
}
