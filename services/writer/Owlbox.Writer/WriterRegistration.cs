using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Owlbox.Writer.Consumers;

namespace Owlbox.Writer;

/// <summary>The writer role: consumes SampleDetected (batched) and SampleFailed, and every stage's Fault&lt;T&gt;;
/// publishes SampleWritten and LabelingJobCompleted. Retries are the bus's two layers (see the hosting setup).</summary>
public static class WriterRegistration
{
    public static IServiceCollection AddWriter(this IServiceCollection services, IBusRegistrationConfigurator bus, WriterOptions options, WriterFaultInjection faults)
    {
        services.AddSingleton(options);
        services.AddSingleton(faults);
        bus.AddConsumer<WriteSamplesConsumer, WriteSamplesConsumerDefinition>();
        bus.AddConsumer<SampleFailedConsumer>();
        bus.AddConsumer<FetchFaultConsumer>();
        bus.AddConsumer<DetectFaultConsumer>();
        bus.AddConsumer<VerifyFaultConsumer>();
        bus.AddConsumer<WriteFaultConsumer>();
        bus.AddConsumer<ExpandFaultConsumer>();
        return services;
    }
}
