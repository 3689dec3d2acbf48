using Owlbox.Pipeline;
using Owlbox.ServiceDefaults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Owlbox.Detection.Inference;
using Owlbox.Gateway;
using Owlbox.Jobs;

namespace Owlbox.Hosting;

internal sealed class DetectorPoolPreflight(DetectionEngine engine, Detector.JobExampleQueries examples) : IModelPreflight
{
    public void Check(JobPlan plan)
    {
        var spec = plan.Spec;
        engine.Load(spec.Model, spec.ModelVariant);
        ExampleQueries? queries;
        try
        {
            // With the detector in this process, an example that cannot serve stops the job at submission, named;
            // the queries are made once here and the detector uses them as they are.
            queries = examples.GetAsync(plan, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (ExampleException e)
        {
            throw new Models.ModelException(e.Message, e);
        }
        // The prompt's text encoding starts now, beside the dataset's expansion and first fetches, not when the
        // first images reach the detector (on a re-prompt from cached encodings it was a fifth of the job).
        _ = Task.Run(() =>
        {
            try
            {
                engine.Plan(spec.Model, spec.ModelVariant, plan.Prompt, plan.Options, queries);
            }
            catch (Exception e) when (e is Models.ModelException or ArgumentException or InvalidOperationException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
            {
                // The detector plans again for the first images and reports it there, per sample.
            }
        });
    }
}

/// <summary>Ready only while the job store answers (MassTransit adds the bus's own check, also tagged ready).</summary>
internal sealed class JobStoreHealthCheck(IJobStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(
        HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await store.GetStatusAsync(Guid.Empty, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (InfrastructureFaults.IsInfrastructure(e))
        {
            return HealthCheckResult.Unhealthy("the job store does not answer");
        }
    }
}

/// <summary>The gateway's process reports the jobs gauge (one reporter, not one per role).</summary>
internal sealed class JobsGauge(IJobStore store, OwlboxOptions options) : IHostedService
{
    private IDisposable? _gauge;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _gauge = OwlboxTelemetry.ObserveJobs(store, options.StalledAfter);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _gauge?.Dispose();
        return Task.CompletedTask;
    }
}

internal sealed class JobStoreInitializer(IJobStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
