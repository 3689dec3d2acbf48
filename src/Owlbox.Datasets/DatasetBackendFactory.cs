using Owlbox.Datasets.Local;

namespace Owlbox.Datasets;

/// <summary>A credential a job brought with it, sealed for this deployment and that job (opaque here; the dataset
/// kind that needs it opens it).</summary>
public sealed record JobCredential(Guid JobId, string Sealed);

/// <summary>Opens a backend from a job's dataset reference: a kind ("local", "edge-impulse") and a location, with the
/// job's own credential where it brought one.</summary>
public interface IDatasetBackendFactory
{
    IDatasetBackend Open(string kind, string location, JobCredential? credential = null);
}

/// <summary>One kind of dataset a deployment can open. The location comes from a request, so each kind checks it
/// against what the deployment allows before touching anything.</summary>
public interface IDatasetKind
{
    string Name { get; }

    IDatasetBackend Open(string location, JobCredential? credential);
}

/// <summary>Local folders, inside the deployment's roots (<see cref="LocalDatasetAccess"/>).</summary>
public sealed class LocalDatasetKind(LocalDatasetAccess access) : IDatasetKind
{
    public const string KindName = "local";

    public string Name => KindName;

    public IDatasetBackend Open(string location, JobCredential? credential) => new LocalDatasetBackend(access.Resolve(location), access);
}

/// <summary>The deployment's dataset kinds (local folders here; Edge Impulse projects from <c>Owlbox.EdgeImpulse</c>).</summary>
public sealed class DatasetBackendFactory(IEnumerable<IDatasetKind> kinds) : IDatasetBackendFactory
{
    private readonly IDatasetKind[] _kinds = kinds.ToArray();

    public IDatasetBackend Open(string kind, string location, JobCredential? credential = null) =>
        (_kinds.FirstOrDefault(k => k.Name == kind) ?? throw new DatasetException(
            $"unknown dataset kind '{LocalDatasetAccess.Shorten(kind, 40)}'; this deployment knows: {string.Join(", ", _kinds.Select(k => k.Name))}"))
        .Open(location, credential);
}
