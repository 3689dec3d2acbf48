namespace Owlbox.ServiceDefaults;

/// <summary>The broker a deployment uses (<c>Owlbox:RabbitMq</c>).</summary>
public sealed class RabbitMqSettings
{
    public string Host { get; set; } = "localhost";
    public ushort Port { get; set; } = 5672;
    public string VirtualHost { get; set; } = "/";
    public string Username { get; set; } = "guest";

    /// <summary>Never logged.</summary>
    public string Password { get; set; } = "guest";
}
