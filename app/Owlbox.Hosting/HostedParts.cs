using Owlbox.ServiceDefaults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Owlbox.Detection.Inference;
using Owlbox.Gateway;
using Owlbox.Jobs;

namespace Owlbox.Hosting;

internal sealed class DetectorPoolPreflight(DetectorPool pool) : IModelPreflight
    {
        public void Check(string model, string variant) => pool.Get(model, variant);
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
