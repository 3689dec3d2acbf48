using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Owlbox.Fetcher.Consumers;

namespace Owlbox.Fetcher;

/// <summary>The fetcher role: consumes LabelingJobSubmitted (lists the dataset, pages FetchSample) and FetchSample
/// (reads an image); publishes FetchSample, ImageFetched and SampleFailed. Scales on the <c>fetch-sample</c> queue.</summary>
public static class FetcherRegistration
{
    public static IServiceCollection AddFetcher(this IServiceCollection services, IBusRegistrationConfigurator bus, FetcherOptions options)
    {
        services.AddSingleton(options);
        bus.AddConsumer<ExpandJobConsumer>();
        bus.AddConsumer<FetchSampleConsumer, FetchSampleConsumerDefinition>();
        return services;
    }
}
