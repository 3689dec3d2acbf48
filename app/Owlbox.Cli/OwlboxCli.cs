using Owlbox.ServiceDefaults;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Detection.Imaging;
using Owlbox.Detection.Inference;
using Owlbox.Detector;
using Owlbox.Gateway;
using Owlbox.Hosting;
using Owlbox.Jobs;
using Owlbox.Labeling;
using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Policies;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Cli;

/// <summary>The <c>owlbox</c> command line. Exit codes: 0 done; 1 the job could not start (usage, prompt, model,
/// dataset); 2 the job finished but some samples failed (listed). The original OWL block stops at the first failure
/// (exit 1) and the GPT-4o block exits 0 over failures; Owlbox labels the rest, and a run that skipped images is a
/// failure a script must be able to see.</summary>
public static class OwlboxCli
{
    public const int Ok = 0;
    public const int SetupError = 1;
    public const int SamplesFailed = 2;
    public const int Cancelled = 130;

    /// <summary>Images in the session at once: past a few a GPU gains nothing and memory grows with each.</summary>
    private const int MaxConcurrentRuns = 8;

    private static readonly HashSet<string> s_labelValues = [.. JobValueNames, "--execution-provider", "--threads", "--concurrent-runs", "--image-batch", "--max-image-pixels"];

    private static readonly HashSet<string> s_labelFlags = [.. JobFlagNames, "--fresh", "--replace-proposals", "--no-embedding-cache"];

    public const string Usage = """
        usage:
          owlbox label <dataset-folder> --model <model-folder> (--prompt "<lines>" | --prompt-file <file>) [options]
          owlbox serve [--roles gateway,fetcher,detector,writer] [--urls http://0.0.0.0:8080]
          owlbox submit --gateway <url> <dataset-location> --model <model-id> (--prompt "<lines>" | --prompt-file <file>) [label options]
          owlbox block --data-ids-file <ids.json> --prompt "<lines>" [block parameters]   (the Edge Impulse AI labeling block)
          owlbox jobs redrive <job-id>                 (put a job's messages in the error queues back on their queues)
          owlbox proposals list <dataset-folder>
          owlbox proposals apply <dataset-folder> <job-id> [--force]
          owlbox proposals discard <dataset-folder> <job-id>
          owlbox review <dataset-folder> [--port N]   (a web page on 127.0.0.1: see the boxes, accept or reject proposals)
          owlbox models prepare <model-folder> [--model-variant v]   (the fast form of a published export, checked, beside it)
          owlbox eval <dataset-folder> --truth <dataset-folder> [--proposals <job-id>] [--json]
                                                       (equals COCOeval's bbox AP, maxDets 100, area all; boxes are integer pixels as the labels file stores them)
          owlbox calibrate <labeled-dataset> --model <model-folder> (--prompt "<lines>" | --prompt-file <file>) [--target-precision 0.9] [--out <file>] [--json]
                                                       (per-label thresholds from a few labeled images)
          owlbox export <dataset-folder> --format coco|yolo|voc --out <file-or-folder> [--force]
                                                       (--force overwrites existing files; never a labels file or .owlbox/)
          owlbox import <coco-file-or-yolo-or-voc-folder> --format coco|yolo|voc --out <dataset-folder>
                                                       (replaces the boxes of the images it names; boxes outside their image are listed, not written)

        label options (names follow the Edge Impulse OWL block):
          --prompt "<lines>"                        one query per line: search text (label, min_confidence); a literal \n separates lines
          --delete_existing_bounding_boxes <p>      no (default) | matching-prompt | yes
          --nms [true|false], --no-nms              per-label non-max suppression (default on)
          --nms-iou-threshold <f>                   default 0.2
          --class-agnostic-nms                      suppress overlapping boxes across labels too
          --ignore-objects-smaller-than <percent>   of the image area; 0 disables
          --ignore-objects-larger-than <percent>    of the image area; 0 disables
          --score-floor <f>                         scores at or below never count (default 0.1, the HF pipeline's threshold)
          --propose-actions <job-id>                preview: write a proposal set, leave labels untouched
          --data-ids-file <file>                    JSON array of ids (file names or stems), or {"ids": [...]}
          --model-variant <v>                       model (fp32, default) | quantized | fp16 | <file>.onnx under onnx/
          --execution-provider <p>                  auto (default) | cpu | cuda
          --threads <n>                             CPU threads for inference (default: all cores)
          --concurrent-runs <n>                     images in the session at once, each decoded by its own worker (default 2)
          --image-batch <n>                         images per run of a prepared model's image encoder (default: 1 on CPU, what fits on a GPU)
          --max-image-pixels <n>                    larger images fail as possible decompression bombs (default 67108864)
          --fresh                                   start a new job instead of resuming an interrupted run of this same job
          --replace-proposals                       with --propose-actions: replace an existing proposal set of that id
          --no-embedding-cache                      do not keep image encodings in <dataset>/.owlbox/embeddings for the next prompt
        """;

    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default) =>
        RunAsync(args, stdout, stderr, null, cancellationToken);

    /// <param name="busTap">Extra bus registrations for in-process jobs (tests use it to see every message).</param>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr,
        Action<MassTransit.IBusRegistrationConfigurator>? busTap, CancellationToken cancellationToken)
    {
        try
        {
            return args switch
            {
                ["label", .. var rest] => await LabelAsync(rest, stdout, stderr, busTap, cancellationToken).ConfigureAwait(false),
                ["proposals", .. var rest] => await ProposalsAsync(rest, stdout, stderr, cancellationToken).ConfigureAwait(false),
                ["serve", .. var rest] => await ServeCommand.RunAsync(rest, stdout, cancellationToken).ConfigureAwait(false),
                ["submit", .. var rest] => await SubmitCommand.RunAsync(rest, stdout, cancellationToken).ConfigureAwait(false),
                ["jobs", .. var rest] => await JobsCommand.RunAsync(rest, stdout, cancellationToken).ConfigureAwait(false),
                ["review", .. var rest] => await Review.ReviewCommand.RunAsync(rest, stdout, cancellationToken).ConfigureAwait(false),
                ["calibrate", .. var rest] => await CalibrateCommand.RunAsync(rest, stdout, cancellationToken).ConfigureAwait(false),
                ["models", .. var rest] => await ModelsCommand.RunAsync(rest, stdout, cancellationToken).ConfigureAwait(false),
                ["eval", .. var rest] => await EvalCommand.RunAsync(rest, stdout, cancellationToken).ConfigureAwait(false),
                ["export", .. var rest] => await FormatsCommand.ExportAsync(rest, stdout).ConfigureAwait(false),
                ["import", .. var rest] => await FormatsCommand.ImportAsync(rest, stdout, cancellationToken).ConfigureAwait(false),
                ["block", .. var rest] => await BlockCommand.RunAsync(rest, stdout, stderr, busTap, cancellationToken).ConfigureAwait(false),
                ["--help" or "-h" or "help"] => PrintUsage(stdout, Ok),
                _ => PrintUsage(stderr, SetupError),
            };
        }
        catch (UsageException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}{Environment.NewLine}{Environment.NewLine}{Usage}").ConfigureAwait(false);
            return SetupError;
        }
        catch (Exception e) when (e is JobSetupException or DatasetException)
        {
            await stderr.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return SetupError;
        }
        catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
        {
            // A requested stop (Ctrl+C, SIGTERM: StopSignal) before a job got under way, or in a command with nothing
            // to list: said in one line, never as an exception. A command that can say more throws its own message.
            await stderr.WriteLineAsync(e is CommandStoppedException ? e.Message : "cancelled on request; nothing under way was left half-written").ConfigureAwait(false);
            return Cancelled;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("OWLBOX_DEBUG") != "1")
        {
            // A user sees what went wrong, not a stack trace; OWLBOX_DEBUG=1 lets it through for a bug report.
            await stderr.WriteLineAsync($"error: {e.Message} ({e.GetType().Name}; OWLBOX_DEBUG=1 shows where)").ConfigureAwait(false);
            return SetupError;
        }
    }

    private static int PrintUsage(TextWriter writer, int code)
    {
        writer.WriteLine(Usage);
        return code;
    }

    private static async Task<int> LabelAsync(string[] args, TextWriter stdout, TextWriter stderr, Action<MassTransit.IBusRegistrationConfigurator>? busTap, CancellationToken cancellationToken)
    {
        var a = new ArgumentReader(args, s_labelValues, s_labelFlags);
        if (a.Positionals.Count != 1)
        {
            throw new UsageException("label takes exactly one dataset folder");
        }
        var dataset = Path.GetFullPath(a.Positionals[0]);
        LocalDataset.CheckFolder(dataset); // before anything (the job store under .owlbox/) touches it
        var spec = ReadJobSpec(a, new DatasetReference("local", dataset), model => Path.GetFullPath(model));
        var proposeId = spec.ProposeJobId;
        var threads = (int)a.Number("--threads", 0);
        var runs = (int)a.Number("--concurrent-runs", 2);
        var imageBatch = (int)a.Number("--image-batch", 0);
        var maxPixels = (long)a.Number("--max-image-pixels", new DecodeLimits().MaxPixels);
        if (threads < 0 || runs < 1 || maxPixels < 1 || imageBatch is < 0 or > DetectorOptions.MaxImageBatchSize)
        {
            throw new UsageException($"--threads must be 0 or more, --concurrent-runs 1 or more, --image-batch 0 to {DetectorOptions.MaxImageBatchSize} and --max-image-pixels positive");
        }
        if (threads > Environment.ProcessorCount || runs > Math.Max(Environment.ProcessorCount, MaxConcurrentRuns))
        {
            // Every run starts its own intra-op threads: 100,000 of them is a machine brought to its knees, not a job.
            throw new UsageException($"this machine has {Environment.ProcessorCount} cores: --threads may be at most {Environment.ProcessorCount} (0 uses them all), --concurrent-runs at most {Math.Max(Environment.ProcessorCount, MaxConcurrentRuns)}");
        }
        var provider = a.Get("--execution-provider") ?? "auto";
        if (provider is not ("auto" or "cpu" or "cuda"))
        {
            throw new UsageException($"--execution-provider must be auto, cpu or cuda, got '{provider}'");
        }
        var embeddings = EmbeddingCacheFolder(dataset, a.Flag("--no-embedding-cache", false), stderr);
        var options = new OwlboxOptions
        {
            Transport = "in-memory",
            SqlitePath = OwlboxFolder.PathOf(dataset, "jobs.db"),
            AllowModelDirectories = true,
            Datasets = new LocalDatasetOptions { AllowAnyFolder = true },
            Engine = new DetectorOptions { ExecutionProvider = provider, Threads = threads, ConcurrentRuns = runs, ImageBatchSize = imageBatch },
            // A later run with another prompt re-uses this run's image encodings (split-form models).
            EmbeddingCacheDirectory = embeddings,
            // One job sees each image once: with the encodings on disk, keeping them in memory as well only grows the
            // process (240 MB per 200 B/32 images). Without the disk cache, memory is what a resumed job re-uses.
            EmbeddingCacheBytes = embeddings is null ? new OwlboxOptions().EmbeddingCacheBytes : 0,
            Detector = new DetectorServiceOptions { DecodeLimits = new DecodeLimits { MaxPixels = maxPixels } },
        };
        var destination = proposeId is null
            ? Path.Combine(a.Positionals[0], LabelsFile.FileName)
            : Path.Combine(OwlboxFolder.PathOf(a.Positionals[0], "proposals"), proposeId + ".json");
        var summary = await LocalJobRunner.RunAsync(spec, options, destination, new ConsoleReporter(stdout), cancellationToken,
            busTap, fresh: a.Flag("--fresh", false), replaceProposals: a.Flag("--replace-proposals", false)).ConfigureAwait(false);
        return ExitCode(summary.Status);
    }

    /// <summary><c>.owlbox/embeddings</c>, unless turned off or reached through a link. A link there is not an error:
    /// the folder is only a cache, so the job runs without it (one warning, naming the link) rather than not at all.</summary>
    private static string? EmbeddingCacheFolder(string dataset, bool off, TextWriter stderr)
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

    internal static int ExitCode(JobStatus jobStatus) => jobStatus switch
    {
        JobStatus.Completed => Ok,
        JobStatus.Cancelled => Cancelled,
        _ => SamplesFailed,
    };

    /// <summary>The job arguments shared by <c>label</c> and <c>submit</c> (the Edge Impulse block's names).</summary>
    /// <param name="nmsByDefault">The CLI runs NMS unless told not to; the block follows the original Edge Impulse block, where Studio passes
    /// <c>--nms</c> only when the box is ticked.</param>
    internal static JobSpec ReadJobSpec(ArgumentReader a, DatasetReference dataset, Func<string, string> resolveModel, bool nmsByDefault = true)
    {
        var model = a.Get("--model") ?? throw new UsageException("--model is required");
        var prompt = (a.Get("--prompt"), a.Get("--prompt-file")) switch
        {
            ({ } text, null) => PromptGrammar.DecodeEscapedNewlines(text),
            (null, { } file) => File.Exists(file) ? File.ReadAllText(file) : throw new UsageException($"--prompt-file '{file}' does not exist"),
            (null, null) => throw new UsageException("--prompt or --prompt-file is required"),
            _ => throw new UsageException("give --prompt or --prompt-file, not both"),
        };
        var defaults = new LabelingOptions(); // the one source of the job's defaults
        var policyText = a.Get("--delete_existing_bounding_boxes") ?? defaults.DeleteExisting.ToArgument();
        if (!DeleteExistingPolicyNames.TryParse(policyText, out var policy))
        {
            throw new UsageException($"--delete_existing_bounding_boxes must be no, matching-prompt or yes, got '{policyText}'");
        }
        var labeling = new LabelingOptions
        {
            ScoreFloor = a.Number("--score-floor", defaults.ScoreFloor),
            DeleteExisting = policy,
            Filter = new FilterOptions
            {
                Nms = a.Flag("--nms", nmsByDefault) && !a.Flag("--no-nms", false),
                NmsIouThreshold = a.Number("--nms-iou-threshold", defaults.Filter.NmsIouThreshold),
                ClassAgnosticNms = a.Flag("--class-agnostic-nms", defaults.Filter.ClassAgnosticNms),
                IgnoreSmallerThanPercent = a.Number("--ignore-objects-smaller-than", defaults.Filter.IgnoreSmallerThanPercent),
                IgnoreLargerThanPercent = a.Number("--ignore-objects-larger-than", defaults.Filter.IgnoreLargerThanPercent),
            },
        };
        return new JobSpec(
            dataset,
            resolveModel(model),
            a.Get("--model-variant") ?? "model",
            prompt,
            labeling.ToContract(),
            string.IsNullOrWhiteSpace(a.Get("--propose-actions")) ? null : a.Get("--propose-actions"),
            a.Get("--data-ids-file") is { } idsFile ? SampleIds.ReadFile(idsFile) : null);
    }

    /// <summary>Option names every job-defining command accepts.</summary>
    public static string[] JobValueNames =>
    [
        "--model", "--model-variant", "--prompt", "--prompt-file", "--delete_existing_bounding_boxes", "--nms-iou-threshold",
        "--ignore-objects-smaller-than", "--ignore-objects-larger-than", "--propose-actions", "--data-ids-file", "--score-floor",
    ];

    public static string[] JobFlagNames => ["--nms", "--no-nms", "--class-agnostic-nms"];

    private static async Task<int> ProposalsAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var a = new ArgumentReader(args, new HashSet<string>(), new HashSet<string> { "--force" });
        switch (a.Positionals)
        {
            case ["list", var dir]:
            {
                var sets = new ProposalStore(dir).List();
                if (sets.Count == 0)
                {
                    stdout.WriteLine($"no proposal sets in {dir}");
                }
                foreach (var s in sets)
                {
                    stdout.WriteLine($"{s.JobId}\t{s.CreatedUtc:u}\t{s.ModelId}\t{s.Samples.Count} samples, {s.Samples.Sum(p => p.Detections.Count)} new boxes, {s.Failed.Count} failed\tdelete existing: {s.DeleteExisting}");
                }
                return Ok;
            }
            case ["apply", var dir, var jobId]:
            {
                var store = new ProposalStore(dir);
                var set = store.Load(jobId);
                LocalDataset.CheckFolder(dir);
                var result = await ProposalApplier.ApplyAsync(Path.GetFullPath(dir), set, a.Flag("--force", false), cancellationToken).ConfigureAwait(false);
                stdout.WriteLine($"applied proposal set {jobId} to {result.Applied} of {set.Samples.Count} samples");
                foreach (var (id, problem) in result.Conflicts)
                {
                    stderr.WriteLine($"    skipped {id}: {problem}");
                }
                if (result.Conflicts.Count > 0)
                {
                    return SamplesFailed;
                }
                store.Discard(jobId);
                return Ok;
            }
            case ["discard", var dir, var jobId]:
                new ProposalStore(dir).Discard(jobId);
                stdout.WriteLine($"discarded proposal set {jobId}");
                return Ok;
            default:
                throw new UsageException("proposals takes list <dataset>, apply <dataset> <job-id> [--force] or discard <dataset> <job-id>");
        }
    }
}
