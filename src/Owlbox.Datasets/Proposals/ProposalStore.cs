using System.Text.Json;
using System.Text.RegularExpressions;

namespace Owlbox.Datasets.Proposals;

/// <summary>Proposal sets of a local dataset, one JSON file per job under <c>.owlbox/proposals/</c>.</summary>
public sealed partial class ProposalStore(string datasetDirectory)
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <remarks>Never reached through a link (<see cref="OwlboxFolder"/>).</remarks>
    public string Folder => OwlboxFolder.PathOf(datasetDirectory, "proposals");

    public static string ValidateJobId(string jobId) =>
        JobIdRegex().IsMatch(jobId)
            ? jobId
            : throw new DatasetException($"job id '{jobId}' is invalid: use 1-64 letters, digits, '-', '_' or '.' (Edge Impulse passes an integer)");

    public string PathFor(string jobId) => Path.Combine(Folder, ValidateJobId(jobId) + ".json");

    /// <summary>The lock every writer of one proposal set holds across its load, change and save (the writer adding a
    /// batch, the review page recording a decision).</summary>
    public Task<FileLock> LockAsync(string jobId, CancellationToken cancellationToken) =>
        FileLock.AcquireAsync(PathFor(jobId) + ".lock", TimeSpan.FromSeconds(60), cancellationToken);

    public void Save(ProposalSet set) => AtomicFile.WriteAllText(PathFor(set.JobId), JsonSerializer.Serialize(set, s_json) + "\n");

    public bool Exists(string jobId) => File.Exists(PathFor(jobId));

    /// <summary>A proposal set is someone's unreviewed work: a new job may not take an id already in use (its
    /// proposals would be merged into, or lost under, the other job's). Every way of starting a job checks here.</summary>
    /// <param name="orElse">What else the caller offers, e.g. ", or pass --replace-proposals".</param>
    public void RequireUnused(string jobId, string orElse = "")
    {
        if (Exists(jobId))
        {
            throw new DatasetException($"proposal set '{jobId}' already exists in {Folder}; apply or discard it first, use another id{orElse}");
        }
    }

    public ProposalSet Load(string jobId)
    {
        var path = PathFor(jobId);
        if (!File.Exists(path))
        {
            throw new DatasetException($"no proposal set '{jobId}' in {Folder}");
        }
        try
        {
            return JsonSerializer.Deserialize<ProposalSet>(File.ReadAllText(path), s_json)
                ?? throw new DatasetException($"{path} is empty");
        }
        catch (JsonException e)
        {
            throw new DatasetException($"{path} is not a valid proposal set: {e.Message}", e);
        }
    }

    public IReadOnlyList<ProposalSet> List() =>
        Directory.Exists(Folder)
            ? Directory.GetFiles(Folder, "*.json").Order(StringComparer.Ordinal)
                .Select(f => Load(Path.GetFileNameWithoutExtension(f))).ToArray()
            : [];

    public void Discard(string jobId)
    {
        var path = PathFor(jobId);
        if (!File.Exists(path))
        {
            throw new DatasetException($"no proposal set '{jobId}' in {Folder}");
        }
        File.Delete(path);
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex JobIdRegex();
}
