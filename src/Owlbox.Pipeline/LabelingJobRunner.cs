using System.Diagnostics;
using System.Threading.Channels;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Detection;
using Owlbox.Detection.Imaging;
using Owlbox.Detection.Inference;
using Owlbox.Detection.Models;
using Owlbox.Detection.Text;
using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Pipeline;

/// <summary>
/// Runs a job in one process. Every check that can fail the whole job (options, prompt grammar and token lengths,
/// model directory and contract, dataset and its labels file) runs before the first image is read. Then images
/// are decoded and preprocessed on worker threads, a bounded number ahead of the detector, so inference never waits
/// on decoding and memory stays flat however many images there are. A bad image fails only its sample.
/// </summary>
public static class LabelingJobRunner
{
    /// <summary>How often results are written while a job runs, so a crash loses at most this much work.</summary>
    public static readonly TimeSpan CheckpointInterval = TimeSpan.FromSeconds(2);

    public static async Task<JobSummary> RunAsync(LabelingJob job, IJobReporter reporter, CancellationToken cancellationToken = default)
    {
        var total = Stopwatch.StartNew();
        var setup = Setup(job);
        using var detector = setup.Detector;
        var (dataset, samples, missing, prompt, sink) = (setup.Dataset, setup.Samples, setup.Missing, setup.Prompt, setup.Sink);
        var queries = detector.PrepareQueries(prompt.Lines.Select(l => l.SearchText).ToArray());
        var count = samples.Count + missing.Count;
        reporter.Started(new JobPlan(detector.Model.ModelId, detector.Model.TypeName, detector.ExecutionProvider, prompt.Lines, count, sink.Destination));

        var failed = new List<(string, string)>();
        var succeeded = 0;
        var boxes = 0;
        var index = 0;
        foreach (var (id, problem) in missing)
        {
            failed.Add((id, problem));
            sink.RecordFailure(id, problem);
            reporter.SampleDone(new SampleOutcome(++index, count, id, TimeSpan.Zero, [], 0, problem));
        }

        var preprocessor = new ImagePreprocessor(detector.Model);
        // Stops the reader ahead of the detector when the job ends early (cancelled, or an unexpected failure).
        using var stopReading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var channel = Channel.CreateBounded<Task<Prepared>>(new BoundedChannelOptions(Math.Max(1, job.Prefetch)) { SingleReader = true, SingleWriter = true });
        var producer = Task.Run(async () =>
        {
            try
            {
                foreach (var sample in samples)
                {
                    var token = stopReading.Token;
                    await channel.Writer.WriteAsync(Task.Run(() => Prepare(sample, preprocessor, job.DecodeLimits), token), token).ConfigureAwait(false);
                }
            }
            finally
            {
                channel.Writer.Complete();
            }
        }, stopReading.Token);

        var checkpoint = Stopwatch.StartNew();
        try
        {
            var batch = new List<Prepared>(detector.ImageBatchSize);
            await foreach (var pending in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var prepared = await pending.ConfigureAwait(false);
                if (prepared.Error is not null)
                {
                    Fail(prepared, prepared.Error);
                    continue;
                }
                batch.Add(prepared);
                if (batch.Count == detector.ImageBatchSize)
                {
                    DetectBatch(batch);
                }
                if (checkpoint.Elapsed >= CheckpointInterval)
                {
                    sink.Flush();
                    checkpoint.Restart();
                }
            }
            if (batch.Count > 0)
            {
                DetectBatch(batch);
            }
            await producer.ConfigureAwait(false);
        }
        finally
        {
            await stopReading.CancelAsync().ConfigureAwait(false);
            // Whatever finished is written, even when the job is cancelled or crashes.
            sink.Flush();
        }
        var summary = new JobSummary(count, succeeded, failed, boxes, total.Elapsed, sink.Destination);
        reporter.Finished(summary);
        return summary;

        void Fail(Prepared p, string reason)
        {
            failed.Add((p.Sample.Id, reason));
            sink.RecordFailure(p.Sample.Id, reason);
            reporter.SampleDone(new SampleOutcome(++index, count, p.Sample.Id, p.Elapsed, [], 0, reason));
        }

        void DetectBatch(List<Prepared> items)
        {
            var started = Stopwatch.StartNew();
            DetectorOutput output;
            try
            {
                output = detector.Run(Pack(items, preprocessor.TensorLength, detector.ImageBatchSize), queries);
            }
            catch (Exception e) when (e is Microsoft.ML.OnnxRuntime.OnnxRuntimeException or ModelException)
            {
                foreach (var item in items)
                {
                    Fail(item, $"inference failed: {e.Message}");
                }
                items.Clear();
                return;
            }
            var share = started.Elapsed / items.Count;
            for (var i = 0; i < items.Count; i++)
            {
                var p = items[i];
                var candidates = OwlPostprocessor.Decode(output, i, prompt.Lines, job.Options.ScoreFloor, detector.Model.Layout, p.Width, p.Height);
                var filtered = DetectionFilter.Apply(candidates, p.Width, p.Height, job.Options.Filter);
                sink.Record(p.Sample, filtered.Kept);
                succeeded++;
                boxes += filtered.Kept.Count;
                reporter.SampleDone(new SampleOutcome(++index, count, p.Sample.Id, p.Elapsed + share, filtered.Kept, filtered.Rejected.Count, null));
            }
            items.Clear();
        }
    }

    private sealed record JobSetup(OwlDetector Detector, LocalDataset Dataset, IReadOnlyList<LocalSample> Samples,
        IReadOnlyList<(string Id, string Problem)> Missing, LabelingPrompt Prompt, ILabelSink Sink);

    private static JobSetup Setup(LabelingJob job)
    {
        var optionErrors = job.Options.Validate();
        if (optionErrors.Count > 0)
        {
            throw new JobSetupException(string.Join(Environment.NewLine, optionErrors));
        }
        OwlModel model;
        ClipTokenizer tokenizer;
        LabelingPrompt prompt;
        LocalDataset dataset;
        try
        {
            model = ModelDirectory.Load(job.ModelDirectory, job.ModelVariant);
            tokenizer = ClipTokenizer.FromTokenizerJson(model.TokenizerPath);
            prompt = LabelingPrompt.Parse(job.PromptText, t => tokenizer.Encode(t).Length, model.MaxTextTokens);
            if (job.ProposeJobId is { } jobId)
            {
                Datasets.Proposals.ProposalStore.ValidateJobId(jobId);
            }
            dataset = LocalDataset.Open(job.DatasetDirectory);
        }
        catch (Exception e) when (e is ModelException or DatasetException or InvalidPromptException)
        {
            throw new JobSetupException(e.Message, e);
        }
        var (samples, missing) = dataset.Select(job.SampleIds);
        if (samples.Count == 0 && missing.Count == 0)
        {
            throw new JobSetupException($"no images to label in '{job.DatasetDirectory}' (looked for .jpg, .jpeg, .png, .webp, .gif, .bmp)");
        }
        OwlDetector detector;
        try
        {
            detector = new OwlDetector(model, job.Detector, tokenizer);
        }
        catch (ModelException e)
        {
            throw new JobSetupException(e.Message, e);
        }
        ILabelSink sink = job.ProposeJobId is { } id
            ? new ProposalSink(dataset, id, prompt, job.Options, model)
            : new LabelsFileSink(dataset, prompt, job.Options, model);
        return new JobSetup(detector, dataset, samples, missing, prompt, sink);
    }

    private sealed record Prepared(LocalSample Sample, int Width, int Height, float[]? Pixels, string? Error, TimeSpan Elapsed);

    private static Prepared Prepare(LocalSample sample, ImagePreprocessor preprocessor, DecodeLimits limits)
    {
        var started = Stopwatch.StartNew();
        try
        {
            var info = new FileInfo(sample.FullPath);
            if (info.Length > limits.MaxFileBytes)
            {
                return new Prepared(sample, 0, 0, null, $"the file is {info.Length:N0} bytes, above the {limits.MaxFileBytes:N0}-byte limit", started.Elapsed);
            }
            var image = ImageDecoder.Decode(File.ReadAllBytes(sample.FullPath), limits);
            var pixels = new float[preprocessor.TensorLength];
            preprocessor.Preprocess(image, pixels);
            return new Prepared(sample, image.Width, image.Height, pixels, null, started.Elapsed);
        }
        catch (ImageDecodeException e)
        {
            return new Prepared(sample, 0, 0, null, e.Message, started.Elapsed);
        }
        catch (IOException e)
        {
            return new Prepared(sample, 0, 0, null, $"cannot read the file: {e.Message}", started.Elapsed);
        }
        catch (UnauthorizedAccessException e)
        {
            return new Prepared(sample, 0, 0, null, $"cannot read the file: {e.Message}", started.Elapsed);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever a hostile file provokes in a decoder fails that sample, never the job.
            return new Prepared(sample, 0, 0, null, $"cannot decode the image ({e.GetType().Name}: {e.Message})", started.Elapsed);
        }
    }

    private static float[] Pack(List<Prepared> items, int tensorLength, int batchSize)
    {
        if (batchSize == 1)
        {
            return items[0].Pixels!;
        }
        // A fixed-batch export needs every slot filled; unused slots stay zero and their outputs are ignored.
        var packed = new float[tensorLength * batchSize];
        for (var i = 0; i < items.Count; i++)
        {
            items[i].Pixels!.CopyTo(packed, i * tensorLength);
        }
        return packed;
    }
}
