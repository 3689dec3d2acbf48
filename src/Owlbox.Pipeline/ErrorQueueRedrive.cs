using System.Text.Json;
using Owlbox.ServiceDefaults;
using RabbitMQ.Client.Exceptions;
using RabbitMQ.Client;

namespace Owlbox.Pipeline;

/// <summary>
/// Moves one job's messages from the stages' <c>&lt;queue&gt;_error</c> queues back to the queues they failed on
/// (after an outage longer than the retries, say), leaving every other job's messages where they are. Each message
/// goes back to the exchange MassTransit binds to its queue, with its own properties minus the fault headers.
/// </summary>
public static class ErrorQueueRedrive
{
    /// <summary>The stages whose messages name a job and a sample.</summary>
    public static readonly string[] Queues = ["expand-job", "fetch-sample", "detect-images", "write-samples", "sample-failed"];

    public sealed record Result(IReadOnlyDictionary<string, int> Moved, int Left);

    public static async Task<Result> RunAsync(RabbitMqSettings settings, Guid jobId, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory
        {
            HostName = settings.Host,
            Port = settings.Port,
            VirtualHost = settings.VirtualHost,
            UserName = settings.Username,
            Password = settings.Password,
        };
        await using var connection = await factory.CreateConnectionAsync("owlbox-redrive", cancellationToken).ConfigureAwait(false);
        var moved = new Dictionary<string, int>(StringComparer.Ordinal);
        var left = 0;
        foreach (var queue in Queues)
        {
            var errors = queue + "_error";
            if (!await ExistsAsync(connection, errors, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }
            // Other jobs' messages stay unacknowledged until the channel closes, which puts them back as they were.
            await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var count = 0;
            while (await channel.BasicGetAsync(errors, autoAck: false, cancellationToken).ConfigureAwait(false) is { } message)
            {
                if (JobOf(message.Body) != jobId)
                {
                    left++;
                    continue;
                }
                var properties = new BasicProperties(message.BasicProperties)
                {
                    Headers = message.BasicProperties.Headers?
                        .Where(h => !h.Key.StartsWith("MT-Fault", StringComparison.Ordinal) && !h.Key.StartsWith("MT-Reason", StringComparison.Ordinal))
                        .ToDictionary(h => h.Key, h => h.Value),
                };
                await channel.BasicPublishAsync(queue, "", mandatory: false, properties, message.Body, cancellationToken).ConfigureAwait(false);
                await channel.BasicAckAsync(message.DeliveryTag, multiple: false, cancellationToken).ConfigureAwait(false);
                count++;
            }
            moved[queue] = count;
        }
        return new Result(moved, left);
    }

    /// <summary>The job a MassTransit envelope's message names (<c>message.jobId</c>), if any.</summary>
    public static Guid? JobOf(ReadOnlyMemory<byte> envelope)
    {
        try
        {
            using var json = JsonDocument.Parse(envelope);
            return json.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.Object
                && m.TryGetProperty("jobId", out var id) && id.TryGetGuid(out var g)
                ? g
                : null;
        }
        catch (JsonException)
        {
            return null; // not JSON: not any job's
        }
    }

    private static async Task<bool> ExistsAsync(IConnection connection, string queue, CancellationToken cancellationToken)
    {
        // A passive declare of a missing queue closes its channel: one channel per question.
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            await channel.QueueDeclarePassiveAsync(queue, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationInterruptedException)
        {
            return false;
        }
    }
}
