using System.Collections.Concurrent;

namespace Owlbox.EdgeImpulse;

/// <summary>
/// A project's listing, reused for a short while by the same process: the gateway's check and the fetcher's expansion
/// of one job read the project seconds apart (in the one-process block, in the same process), and a large project is
/// many pages per category. A listing older than <paramref name="maxAge"/> is read again.
/// </summary>
public sealed class ProjectListings(TimeSpan maxAge)
{
    private readonly ConcurrentDictionary<(StudioClient Client, int Project), (DateTime At, Task<IReadOnlyDictionary<long, StudioSample>> Listing)> _listings = new();

    public Task<IReadOnlyDictionary<long, StudioSample>> GetAsync(StudioClient client, int projectId, Func<Task<IReadOnlyDictionary<long, StudioSample>>> list)
    {
        var now = DateTime.UtcNow;
        var entry = _listings.AddOrUpdate((client, projectId),
            _ => (now, list()),
            (_, old) => now - old.At > maxAge || old.Listing.IsFaulted || old.Listing.IsCanceled ? (now, list()) : old);
        return entry.Listing;
    }
}
