using System.CommandLine;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Detection.Imaging;
using Owlbox.Detection.Inference;
using Owlbox.Detector;
using Owlbox.Hosting;
using Owlbox.Verifier;

namespace Owlbox.Cli;

/// <summary><c>owlbox label &lt;dataset-folder&gt; --model &lt;model-folder&gt; (--prompt | --prompt-file) [options]</c>: labels a
/// local dataset in this process, every service on the in-memory bus.</summary>
public static class LabelCommand
{
    /// <summary>Images in the session at once: past a few a GPU gains nothing and memory grows with each.</summary>
    private const int MaxConcurrentRuns = 8;

    public static Command Create(CliContext io)
    {
        var dataset = CliOptions.Positional("dataset-folder", "the folder of images; its bounding_boxes.labels is read and written");
        var job = new JobOptionGroup();
        var provider = JobOptionGroup.ExecutionProviderOption();
        var threads = CliOptions.Number("--threads", "CPU threads for inference (0: all cores)", 0, "n");
        var runs = CliOptions.Number("--concurrent-runs", "images in the session at once, each decoded by its own worker", 2, "n");
        var imageBatch = CliOptions.Number("--image-batch", "images per run of a prepared model's image encoder (0: 1 on CPU, what fits on a GPU)", 0, "n");
        var maxPixels = CliOptions.Number("--max-image-pixels", "larger images fail as possible decompression bombs", new DecodeLimits().MaxPixels, "n");
        var fresh = CliOptions.Flag("--fresh", "start a new job instead of resuming an interrupted run of this same job");
        var replace = CliOptions.Flag("--replace-proposals", "with --propose-actions: replace an existing proposal set of that id");
        var noCache = CliOptions.Flag("--no-embedding-cache", "do not keep image encodings in <dataset>/.owlbox/embeddings for the next prompt");
        var examplesFrom = CliOptions.Text("--examples-from", "the local dataset whose boxes [label] prompt lines use as examples (default: this dataset)", "folder");
        var command = new Command("label", "label a local dataset in this process (option names follow the Edge Impulse OWL block)") { dataset };
        return command.WithOptions([.. job.All, provider, threads, runs, imageBatch, maxPixels, fresh, replace, noCache, examplesFrom]).WithAction(async (p, cancellationToken) =>
        {
            var folder = p.GetValue(dataset)!;
            var directory = Path.GetFullPath(folder);
            LocalDataset.CheckFolder(directory); // before anything (the job store under .owlbox/) touches it
            var spec = job.Read(p, new DatasetReference("local", directory), model => Path.GetFullPath(model));
            if (spec.Verification is not null && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(new VerifierServiceOptions().ApiKeyVariable)))
            {
                // Here, not per sample: every call would be refused alike.
                throw new UsageException($"--verify-below needs the vision model's key in {new VerifierServiceOptions().ApiKeyVariable} (any non-empty value for a local server that checks none)");
            }
            var engine = Engine(p.GetValue(provider)!, p.GetValue(threads), p.GetValue(runs), p.GetValue(imageBatch));
            var pixels = (long)p.GetValue(maxPixels);
            if (pixels < 1)
            {
                throw new UsageException("--max-image-pixels must be positive");
            }
            // Example lines' boxes, before anything is written: a label with no box stops the job here, naming its line.
            spec = spec with { Examples = ExampleBoxes.Gather(spec.Prompt, p.GetValue(examplesFrom) is { } from ? Path.GetFullPath(from) : directory) };
            _ = OwlboxFolder.PathOf(directory, "jobs.db"); // first: a .owlbox that cannot hold it stops the job here
            var embeddings = EmbeddingCacheFolder(directory, p.GetValue(noCache), io.Error);
            var options = LocalOptions(directory, engine, embeddings, pixels);
            OwlboxSettings.Check(options, OwlboxConcerns.All); // composed from its arguments (it reads no configuration): checked as serve's are
            var destination = spec.ProposeJobId is null
                ? Path.Combine(folder, LabelsFile.FileName)
                : Path.Combine(OwlboxFolder.PathOf(folder, "proposals"), spec.ProposeJobId + ".json");
            var summary = await LocalJobRunner.RunAsync(spec, options, destination, new ConsoleReporter(io.Out), cancellationToken,
                io.BusTap, fresh: p.GetValue(fresh), replaceProposals: p.GetValue(replace)).ConfigureAwait(false);
            return OwlboxCli.ExitCode(summary.Status);
        });
    }

    /// <summary>The one-process job's settings for a local dataset (also the review page's "find more like this").
    /// A <c>.owlbox</c> that cannot hold <c>jobs.db</c> stops the job here.</summary>
    internal static OwlboxOptions LocalOptions(string directory, DetectorOptions engine, string? embeddings, long maxPixels) => new()
    {
        Transport = "in-memory",
        SqlitePath = OwlboxFolder.PathOf(directory, "jobs.db"),
        AllowModelDirectories = true,
        Datasets = new LocalDatasetOptions { AllowAnyFolder = true },
        Engine = engine,
        // A later run with another prompt re-uses this run's image encodings (split-form models).
        EmbeddingCacheDirectory = embeddings,
        // One job sees each image once: with the encodings on disk, keeping them in memory as well only grows the
        // process (240 MB per 200 B/32 images). Without the disk cache, memory is what a resumed job re-uses.
        EmbeddingCacheBytes = embeddings is null ? new OwlboxOptions().EmbeddingCacheBytes : 0,
        Detector = new DetectorServiceOptions { DecodeLimits = new DecodeLimits { MaxPixels = maxPixels } },
    };

    /// <summary>The engine settings, within what this machine can run.</summary>
    private static DetectorOptions Engine(string provider, double threadsValue, double runsValue, double imageBatchValue)
    {
        var (threads, runs, imageBatch) = ((int)threadsValue, (int)runsValue, (int)imageBatchValue);
        if (threads < 0 || runs < 1 || imageBatch is < 0 or > DetectorOptions.MaxImageBatchSize)
        {
            throw new UsageException($"--threads must be 0 or more, --concurrent-runs 1 or more, --image-batch 0 to {DetectorOptions.MaxImageBatchSize} and --max-image-pixels positive");
        }
        if (threads > Environment.ProcessorCount || runs > Math.Max(Environment.ProcessorCount, MaxConcurrentRuns))
        {
            // Every run starts its own intra-op threads: 100,000 of them is a machine brought to its knees, not a job.
            throw new UsageException($"this machine has {Environment.ProcessorCount} cores: --threads may be at most {Environment.ProcessorCount} (0 uses them all), --concurrent-runs at most {Math.Max(Environment.ProcessorCount, MaxConcurrentRuns)}");
        }
        return new DetectorOptions { ExecutionProvider = provider, Threads = threads, ConcurrentRuns = runs, ImageBatchSize = imageBatch };
    }

    /// <summary><c>.owlbox/embeddings</c>, unless turned off or reached through a link. A link there is not an error:
    /// the folder is only a cache, so the job runs without it (one warning, naming the link) rather than not at all.</summary>
    internal static string? EmbeddingCacheFolder(string dataset, bool off, TextWriter stderr)
    {
        if (off)
        {
            return null;
        }
        var folder = OwlboxFolder.TryPathOf(dataset, out var problem, "embeddings");
        if (folder is null)
        {
            stderr.WriteLine($"warning: {problem}; this run keeps no image encodings on disk");
        }
        return folder;
    }
}
