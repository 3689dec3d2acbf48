using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Owlbox.Jobs;

namespace Owlbox.ServiceDefaults;

public static class TelemetryExtensions
{
    /// <summary>
    /// Traces and metrics over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (protocol and service name from
    /// the standard OTEL_* variables): MassTransit's spans (trace context crosses RabbitMQ in message headers) and
    /// metrics (consume counts, durations, retries, errors), Owlbox's own instruments, HTTP and .NET runtime metrics.
    /// </summary>
    public static IServiceCollection AddOwlboxTelemetry(this IServiceCollection services, string serviceName)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
        {
            return services;
        }
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") ?? serviceName))
            // The default exporter queue (2,048 spans) overflows on a busy job (each image makes several spans per
            // stage) and drops spans silently; 64k spans is a few MB.
            .WithTracing(t => t.AddSource("MassTransit", OwlboxTelemetry.Name).AddAspNetCoreInstrumentation()
                .AddOtlpExporter(o => o.BatchExportProcessorOptions.MaxQueueSize = 65_536))
            .WithMetrics(m => m.AddMeter("MassTransit", OwlboxTelemetry.Name).AddAspNetCoreInstrumentation().AddRuntimeInstrumentation().AddOtlpExporter());
        return services;
    }
}
