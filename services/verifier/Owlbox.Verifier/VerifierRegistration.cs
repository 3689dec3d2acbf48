using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Owlbox.Verifier.Consumers;

namespace Owlbox.Verifier;

/// <summary>The verifier role: consumes VerifySample (from the detector, for jobs that ask for verification), publishes
/// SampleDetected with the verdicts applied, or SampleFailed for a sample with a box the model could not answer for.
/// Scales on the <c>verify-sample</c> queue, bounded by the model's rate limit (<see cref="VerifierServiceOptions.Concurrency"/>),
/// not by a GPU.</summary>
public static class VerifierRegistration
{
    public static IServiceCollection AddVerifier(this IServiceCollection services, IBusRegistrationConfigurator bus, VerifierServiceOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<JobVerifiers>();
        bus.AddConsumer<VerifySampleConsumer, VerifySampleConsumerDefinition>();
        return services;
    }
}
