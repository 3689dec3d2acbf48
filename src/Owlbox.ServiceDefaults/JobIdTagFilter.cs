using System.Diagnostics;
using MassTransit;
using Owlbox.Contracts.V1;

namespace Owlbox.ServiceDefaults;

/// <summary>Tags the consume span of every stage with the job (<c>owlbox.job_id</c>; a batch's distinct jobs), so
/// one job's path through the four services is one query in the trace store.</summary>
public sealed class JobIdTagFilter<T> : IFilter<ConsumeContext<T>>
    where T : class
{
    public const string Tag = "owlbox.job_id";

    public Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        if (Activity.Current is { } span)
        {
            var jobs = context.Message switch
            {
                IJobMessage m => [m.JobId],
                IEnumerable<ConsumeContext> batch => batch.Select(c => c.TryGetMessage<IJobMessage>(out var m) ? m.Message.JobId : Guid.Empty)
                    .Where(id => id != Guid.Empty).Distinct().ToArray(),
                _ => Array.Empty<Guid>(),
            };
            if (jobs.Length > 0)
            {
                span.SetTag(Tag, string.Join(",", jobs));
            }
        }
        return next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("owlbox-job-id");
}
