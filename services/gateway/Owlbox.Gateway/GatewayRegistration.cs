using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Owlbox.Gateway.Consumers;

namespace Owlbox.Gateway;

/// <summary>The gateway role: the HTTP API (<see cref="JobApi"/>, mapped by the host) and the bus's way in,
/// <see cref="SubmitLabelingJobConsumer"/> (consumes SubmitLabelingJob, publishes LabelingJobAccepted or
/// LabelingJobRejected). Both go through <see cref="JobSubmitter"/>, which checks and records a job and publishes
/// LabelingJobSubmitted. Scales on HTTP load and the <c>submit-labeling-job</c> queue; needs a ModelCatalog.</summary>
public static class GatewayRegistration
{
    public static IServiceCollection AddGateway(this IServiceCollection services, IBusRegistrationConfigurator bus)
    {
        services.AddScoped<JobSubmitter>();
        bus.AddConsumer<SubmitLabelingJobConsumer>();
        return services;
    }
}
