namespace Owlbox.Fetcher;

/// <summary>Fetcher limits (configuration section <c>Owlbox:Fetcher</c>).</summary>
public sealed class FetcherOptions
{
    /// <summary>Larger files fail their sample before they enter the claim-check store (default 100 MB).</summary>
    public long MaxImageBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>How long a fetched image stays in the claim-check store (default 24 h).</summary>
    public TimeSpan ImageTimeToLive { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Images fetched at once per process (default 8).</summary>
    public int Concurrency { get; set; } = 8;
}
