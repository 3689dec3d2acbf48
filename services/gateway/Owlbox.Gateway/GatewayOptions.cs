namespace Owlbox.Gateway;

/// <summary>HTTP API settings (configuration section <c>Owlbox:Gateway</c>).</summary>
public sealed class GatewayOptions
{
    public const string SectionName = "Owlbox:Gateway";

    /// <summary>Accepted values of the <c>x-api-key</c> header. Keys are compared in constant time and never logged.</summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>Serve without keys (local development only); without keys and without this the gateway refuses to start.</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>Largest request body (default 1 MiB): a job is a few kilobytes, even with thousands of sample ids.
    /// Checked only after the API key, so an unauthenticated body is never read.</summary>
    public long MaxRequestBytes { get; set; } = 1 << 20;

    /// <summary>Most sample ids one job may name (default 50,000; submit larger selections as several jobs).</summary>
    public int MaxSampleIds { get; set; } = 50_000;

    /// <summary>Most prompt lines (default 100) and prompt bytes (default 8 KiB): the prompt is encoded per line and
    /// copied into every sample's metadata.</summary>
    public int MaxPromptLines { get; set; } = 100;

    public int MaxPromptBytes { get; set; } = 8 * 1024;


    public IEnumerable<string> Validate()
    {
        if (ApiKeys.Count == 0 && !AllowAnonymous)
        {
            yield return "the gateway has no API keys: set Owlbox__Gateway__ApiKeys__0 (or Owlbox:Gateway:AllowAnonymous=true for local development)";
        }
        if (ApiKeys.Any(k => k.Length < 16))
        {
            yield return "Owlbox:Gateway:ApiKeys: each key must be at least 16 characters (e.g. openssl rand -hex 32)";
        }
        if (MaxRequestBytes < 1024 || MaxSampleIds < 1 || MaxPromptLines < 1 || MaxPromptBytes < 1)
        {
            yield return "Owlbox:Gateway:MaxRequestBytes (at least 1024), MaxSampleIds, MaxPromptLines and MaxPromptBytes must be positive";
        }
    }
}
