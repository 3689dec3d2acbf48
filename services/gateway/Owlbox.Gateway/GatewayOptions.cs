namespace Owlbox.Gateway;

/// <summary>HTTP API settings (configuration section <c>Owlbox:Gateway</c>).</summary>
public sealed class GatewayOptions
{
    public const string SectionName = "Owlbox:Gateway";

    /// <summary>Accepted values of the <c>x-api-key</c> header. Keys are compared in constant time and never logged.</summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>Serve without keys (local development only); without keys and without this the gateway refuses to start.</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>A running job none of whose pending samples moved for this long is reported as stalled.</summary>
    public TimeSpan StalledAfter { get; set; } = TimeSpan.FromMinutes(10);
}
