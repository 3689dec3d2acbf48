using Owlbox.Datasets;

namespace Owlbox.EdgeImpulse;

/// <summary>Edge Impulse settings of a deployment (configuration <c>Owlbox:EdgeImpulse</c>): where project keys may be
/// sent, and the keys. A job only names an endpoint and a project; an endpoint not listed here is refused before any
/// call, so no request can choose where a key goes.</summary>
public sealed class EdgeImpulseAccessOptions
{
    /// <summary>Studio API endpoints jobs may name (default Studio's own).</summary>
    public List<string> Endpoints { get; set; } = ["https://studio.edgeimpulse.com/v1"];

    /// <summary>Project id → API key, for a deployment serving several projects; a project not listed uses the key
    /// in the environment variable <c>EI_PROJECT_API_KEY</c> (the block's own project).</summary>
    public Dictionary<string, string> ProjectApiKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Deployment keys (id → 32 bytes in base64) that seal the project keys jobs bring with them (one fleet,
    /// many projects; <see cref="ProjectKeySealer"/>). Several, so a key can be rotated.</summary>
    public Dictionary<string, string> SealingKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The key a block seals with; when set (with a broker), the block sends its project key sealed.</summary>
    public string? SealingKeyId { get; set; }

    /// <summary>How long a sealed key opens (default 24 h); it is also forgotten when its job ends.</summary>
    public TimeSpan SealedKeyLifetime { get; set; } = TimeSpan.FromHours(24);
}

public static class EdgeImpulseEndpoints
{
    /// <summary>The endpoint in one canonical spelling (lower-case scheme and host, explicit port, no trailing slash),
    /// or null when it is not a plain http(s) URL (user info, query or fragment are refused: they are ways to make
    /// one address look like another).</summary>
    public static string? Normalize(string endpoint)
    {
        if (!Uri.TryCreate(endpoint.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")
            || uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            return null;
        }
        return $"{uri.Scheme}://{uri.Host.ToLowerInvariant()}:{uri.Port}{uri.AbsolutePath.TrimEnd('/')}";
    }

    public static string RequireAllowed(string endpoint, IEnumerable<string> allowed)
    {
        var normalized = Normalize(endpoint);
        return normalized is not null && allowed.Select(Normalize).Contains(normalized, StringComparer.Ordinal)
            ? normalized
            : throw new DatasetException($"Edge Impulse endpoint '{LocalDatasetAccess.Shorten(endpoint)}' is not one this deployment calls (Owlbox:EdgeImpulse:Endpoints)");
    }
}
