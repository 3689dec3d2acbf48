namespace Owlbox.ServiceDefaults;

/// <summary>How roles reach each other: one process's in-memory bus, or RabbitMQ.</summary>
public enum Transport
{
    InMemory,
    RabbitMq,
}

/// <summary>The services; a process runs one or more (<c>owlbox serve --roles</c>). The verifier serves only jobs that
/// ask for verification.</summary>
public enum Role
{
    Gateway,
    Fetcher,
    Detector,
    Verifier,
    Writer,
}

public static class TransportNames
{
    /// <summary>The configuration spelling (<c>Owlbox:Transport</c>): "in-memory" or "rabbitmq"; null for anything else.</summary>
    public static Transport? Parse(string? text) => text?.ToLowerInvariant() switch
    {
        "in-memory" or "inmemory" => Transport.InMemory,
        "rabbitmq" => Transport.RabbitMq,
        _ => null,
    };

    public static string ToName(this Transport transport) => transport == Transport.RabbitMq ? "rabbitmq" : "in-memory";

    /// <summary>"gateway", "fetcher", "detector", "verifier" or "writer" (any case); null for anything else.</summary>
    public static Role? ParseRole(string text) => Enum.TryParse<Role>(text, ignoreCase: true, out var r) && Enum.IsDefined(r) && !char.IsAsciiDigit(text.TrimStart()[0]) ? r : null;

    public static string ToName(this Role role) => role.ToString().ToLowerInvariant();
}
