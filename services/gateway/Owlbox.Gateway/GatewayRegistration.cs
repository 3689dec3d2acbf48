using Microsoft.Extensions.DependencyInjection;

namespace Owlbox.Gateway;

/// <summary>The gateway role: the HTTP API (<see cref="JobApi"/>, mapped by the host) and <see cref="JobSubmitter"/>,
/// which checks and records a job and publishes LabelingJobSubmitted. It consumes nothing; it scales on HTTP load.</summary>
public static class GatewayRegistration
{
    public static IServiceCollection AddGateway(this IServiceCollection services) => services.AddScoped<JobSubmitter>();
}
