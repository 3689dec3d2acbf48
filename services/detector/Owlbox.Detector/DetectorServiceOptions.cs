using Owlbox.Detection.Imaging;

namespace Owlbox.Detector;

/// <summary>Detector batching and limits (configuration section <c>Owlbox:Detector</c>).</summary>
public sealed class DetectorServiceOptions
{
    /// <summary>Images per consumed batch (default 8): the bound on images decoded ahead of inference.</summary>
    public int BatchMessageLimit { get; set; } = 8;

    /// <summary>How long a batch waits to fill (default 50 ms): the latency a lone image pays.</summary>
    public TimeSpan BatchTimeLimit { get; set; } = TimeSpan.FromMilliseconds(50);

    public DecodeLimits DecodeLimits { get; set; } = new();
}
