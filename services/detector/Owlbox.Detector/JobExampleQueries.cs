using System.Collections.Concurrent;
using Owlbox.Datasets;
using Owlbox.Detection.Inference;
using Owlbox.Labeling.Boxes;
using Owlbox.Pipeline;

namespace Owlbox.Detector;

/// <summary>
/// A job's example queries in this process, made once per job: the example images (<see cref="JobPlan"/>'s
/// <c>Spec.Examples</c>, gathered at submission) fetched once through the dataset backend, encoded through the
/// embedding cache (so an example image the job also labels is encoded once), each box's query chosen.
/// </summary>
public sealed class JobExampleQueries(DetectionEngine engine, IDatasetBackendFactory datasets)
{
    /// <summary>An example image is read as the fetcher reads any image.</summary>
    private const long MaxImageBytes = 100L * 1024 * 1024;

    private const int Bound = 256;

    private readonly ConcurrentDictionary<Guid, Lazy<Task<ExampleQueries>>> _byJob = new();

    /// <summary>Null when the job has no example lines. Throws <see cref="ExampleException"/> for an example that
    /// cannot serve (its image unreadable, its box outside the image or smaller than a patch) or
    /// <see cref="Models.ModelException"/>; a failure is not kept, so the next batch tries again.</summary>
    public async Task<ExampleQueries?> GetAsync(JobPlan plan, CancellationToken cancellationToken)
    {
        if (!plan.Prompt.Lines.Any(l => l.IsExample))
        {
            return null;
        }
        if (_byJob.Count > Bound)
        {
            _byJob.Clear(); // rebuilt from the job's examples (cached encodings) if its images arrive again
        }
        var lazy = _byJob.GetOrAdd(plan.JobId, _ => new Lazy<Task<ExampleQueries>>(() => EmbedAsync(plan, CancellationToken.None)));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _byJob.TryRemove(KeyValuePair.Create(plan.JobId, lazy));
            throw;
        }
    }

    private async Task<ExampleQueries> EmbedAsync(JobPlan plan, CancellationToken cancellationToken)
    {
        var spec = plan.Spec;
        if (spec.Examples is not { } examples || examples.Boxes.Count == 0)
        {
            // The gateway gathers them; without them (a gateway that could not list the dataset) no image can be scored.
            var line = plan.Prompt.Lines.First(l => l.IsExample);
            throw new ExampleException($"prompt line {line.LineNumber} \"[{line.SearchText}]\": the job was submitted without its example boxes");
        }
        // The job's own dataset with the job's credential; examples from another dataset with the deployment's.
        var backend = examples.Dataset == spec.Dataset
            ? plan.OpenDataset(datasets)
            : datasets.Open(examples.Dataset.Kind, examples.Dataset.Location, null);
        var images = new List<ExampleImage>();
        foreach (var group in examples.Boxes.GroupBy(b => b.SampleId, StringComparer.Ordinal))
        {
            byte[] bytes;
            try
            {
                bytes = await backend.ReadImageAsync(group.Key, MaxImageBytes, cancellationToken).ConfigureAwait(false);
            }
            catch (DatasetException e)
            {
                throw new ExampleException($"example image {group.Key} cannot be read: {e.Message}", e);
            }
            images.Add(new ExampleImage(group.Key, bytes, [.. group.Select(b => (b.Label, new PixelBox(b.X, b.Y, b.Width, b.Height)))]));
        }
        return await Task.Run(() => engine.EmbedExamples(spec.Model, spec.ModelVariant, images), cancellationToken).ConfigureAwait(false);
    }
}
