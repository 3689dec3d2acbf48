using Owlbox.Detection.Imaging;

namespace Owlbox.Detector;

/// <summary>Detector batching and limits (configuration section <c>Owlbox:Detector</c>); the session's own settings
/// (<c>Owlbox:Engine</c>) and the embedding cache (<c>Owlbox:EmbeddingCacheBytes</c>) are set from the top level.</summary>
public sealed class DetectorServiceOptions
{
    /// <summary>Images per consumed batch (default 16). Only the images on the inference workers are decoded at a
    /// time, so a batch costs its compressed bytes; fewer batch boundaries mean fewer pauses of the session. With
    /// several images per session run (<c>Owlbox:Engine:ImageBatchSize</c>, a GPU) a run never spans two consumer
    /// batches: raised to a configured image batch, and worth 64 where the batch is sized from device memory.</summary>
    public int BatchMessageLimit { get; set; } = 16;

    /// <summary>How long a batch waits to fill (default 20 ms): the latency a lone image pays.</summary>
    public TimeSpan BatchTimeLimit { get; set; } = TimeSpan.FromMilliseconds(20);

    public DecodeLimits DecodeLimits { get; set; } = new();

    /// <summary>How long an image sent on to the verifier stays in the claim-check store (default 24 h, as the fetcher's).</summary>
    public TimeSpan ImageTimeToLive { get; set; } = TimeSpan.FromHours(24);
}
