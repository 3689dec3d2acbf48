using Owlbox.Pipeline;
using Owlbox.ServiceDefaults;
using Owlbox.Detection.Inference;
using Owlbox.Detector;
using Owlbox.Fetcher;

namespace Owlbox.Hosting;

/// <summary>A process's shape (configuration section <c>Owlbox</c>; environment <c>Owlbox__Transport=rabbitmq</c> etc.).</summary>
public sealed class OwlboxOptions
{
    public const string SectionName = "Owlbox";

    public static readonly IReadOnlyList<string> AllRoles = Enum.GetValues<Role>().Select(r => r.ToName()).ToArray();

    /// <summary>Services hosted by this process (default all of them: the one-process shape).</summary>
    public List<string> Roles { get; set; } = [.. AllRoles];

    /// <summary>"in-memory" (default: one process, not durable) or "rabbitmq".</summary>
    public string Transport { get; set; } = "in-memory";

    public RabbitMqSettings RabbitMq { get; set; } = new();

    /// <summary>SQLite file of the embedded job store (default <c>owlbox-jobs.db</c>); ignored when <see cref="PostgresConnectionString"/> is set.</summary>
    public string SqlitePath { get; set; } = "owlbox-jobs.db";

    /// <summary>When set, jobs live in PostgreSQL (what scaled deployments use).</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>Folder shared by fetchers and detectors for claim-checked images; null keeps them in memory (one process only).</summary>
    public string? MessageDataDirectory { get; set; }

    /// <summary>Images up to this size travel inside the message on RabbitMQ; larger ones by claim check (default 256 KB).</summary>
    public int InlineImageBytes { get; set; } = 256 * 1024;

    /// <summary>Model id → model directory, for jobs that name a model.</summary>
    public Dictionary<string, string> Models { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Let jobs name a model directory directly (the one-process CLI); off for services.</summary>
    public bool AllowModelDirectories { get; set; }

    public DetectorOptions Engine { get; set; } = new();
    public DetectorServiceOptions Detector { get; set; } = new();
    public FetcherOptions Fetcher { get; set; } = new();

    /// <summary>The verifier's key variable, answer cache and rate (<c>Owlbox:Verifier</c>).</summary>
    public Verifier.VerifierServiceOptions Verifier { get; set; } = new();

    /// <summary>Environment variable holding the Edge Impulse project API key, read by each process that talks to
    /// Studio (fetcher, writer, gateway); jobs only name the project, never the key.</summary>
    public string EdgeImpulseApiKeyVariable { get; set; } = "EI_PROJECT_API_KEY";

    /// <summary>Studio endpoints jobs may name and per-project keys (<c>Owlbox:EdgeImpulse</c>).</summary>
    public EdgeImpulse.EdgeImpulseAccessOptions EdgeImpulse { get; set; } = new();

    /// <summary>Where local datasets may be (<c>Owlbox:Datasets</c>).</summary>
    public LocalDatasetOptions Datasets { get; set; } = new();

    /// <summary>Retries and timeouts of Studio calls.</summary>
    public EdgeImpulse.StudioClientOptions Studio { get; set; } = new();

    /// <summary>Deliberate crashes for fault tests; empty in any real deployment.</summary>
    public Writer.WriterFaultInjection Faults { get; set; } = new();

    /// <summary>Memory for encoded images of split models, reused when a seen image is prompted again (default 1 GiB; 0 disables).</summary>
    public long EmbeddingCacheBytes { get; set; } = 1L << 30;

    /// <summary>A folder for encoded images on disk, kept across restarts and shared by the detectors that mount it
    /// (unset: memory only). <c>owlbox label</c> uses the dataset's <c>.owlbox/embeddings</c>.</summary>
    public string? EmbeddingCacheDirectory { get; set; }

    /// <summary>Bound of <see cref="EmbeddingCacheDirectory"/> (default 16 GiB); least recently used files go first.</summary>
    public long EmbeddingCacheDiskBytes { get; set; } = 16L << 30;

    public Writer.WriterOptions Writer { get; set; } = new();

    /// <summary>Retries for a failing message before it faults (default 5, exponential from 200 ms to 10 s).</summary>
    public int RetryLimit { get; set; } = 5;

    /// <summary>Retries when the job store or the broker fails (default 20, exponential from 1 s to 30 s: about
    /// eight minutes), so a database restart or failover never fails a sample.</summary>
    public int InfrastructureRetryLimit { get; set; } = 20;

    public TimeSpan InfrastructureRetryMaxInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A running job none of whose pending samples moved for this long is stalled (its status says so, and
    /// the <c>owlbox.jobs</c> gauge counts it).</summary>
    public TimeSpan StalledAfter { get; set; } = TimeSpan.FromMinutes(10);

    public bool Has(Role role) => Roles.Any(r => TransportNames.ParseRole(r) == role);

    /// <summary>The transport named by <see cref="Transport"/> (which <see cref="Validate"/> checks).</summary>
    public Transport TransportKind => TransportNames.Parse(Transport) ?? ServiceDefaults.Transport.InMemory;

    public bool OnRabbitMq => TransportKind == ServiceDefaults.Transport.RabbitMq;

    public BusSettings Bus => new(TransportKind, RabbitMq, MessageDataDirectory, InlineImageBytes, Fetcher.MaxImageBytes,
        RetryLimit, InfrastructureRetryLimit, InfrastructureRetryMaxInterval);

    /// <summary>Fetcher and detector in one process on the in-memory bus: two detector batches of images may wait, and
    /// as many samples again queued for the fetchers beyond those, no more. Elsewhere the broker's queues buffer.</summary>
    public OneProcessGates OneProcessGates(CancellationToken stopping)
    {
        var imageSlots = 2 * Detector.BatchMessageLimit;
        return !OnRabbitMq && Has(Role.Fetcher) && Has(Role.Detector)
            ? new OneProcessGates(imageSlots + Math.Max(imageSlots, Fetcher.Concurrency), imageSlots, Has(Role.Verifier) ? imageSlots : 0, stopping)
            : Pipeline.OneProcessGates.Unbounded;
    }

    /// <summary>A misspelt transport, named; null when <see cref="Transport"/> is one.</summary>
    public string? TransportProblem => TransportNames.Parse(Transport) is null ? $"Owlbox:Transport must be in-memory or rabbitmq, got '{Transport}'" : null;

    /// <summary>What would make this process run wrong rather than fail: a misspelt transport would silently run each
    /// role on its own in-memory bus, a deployment that never moves a message. Each problem names its setting; only the
    /// <paramref name="concerns"/> a command relies on are checked (a block that only follows a job needs no job store).</summary>
    public IEnumerable<string> Validate(OwlboxConcerns concerns = OwlboxConcerns.All)
    {
        if (concerns.HasFlag(OwlboxConcerns.Transport))
        {
            if (TransportProblem is { } transport)
            {
                yield return transport;
            }
            if (OnRabbitMq && string.IsNullOrWhiteSpace(RabbitMq.Host))
            {
                yield return "Owlbox:RabbitMq:Host is empty";
            }
        }
        if (concerns.HasFlag(OwlboxConcerns.Deployment))
        {
            foreach (var role in Roles.Where(r => TransportNames.ParseRole(r) is null))
            {
                yield return $"unknown role '{role}' (Owlbox:Roles / --roles): use {string.Join(", ", AllRoles)}";
            }
            if (TransportProblem is null && !OnRabbitMq && Enum.GetValues<Role>().Any(r => !Has(r)))
            {
                yield return $"Owlbox:Transport is in-memory, which connects only roles in one process, but this one runs {string.Join(", ", Roles)}: set Owlbox:Transport=rabbitmq";
            }
            if (OnRabbitMq && string.IsNullOrWhiteSpace(PostgresConnectionString))
            {
                yield return "Owlbox:PostgresConnectionString is required with rabbitmq: every role must share one job store";
            }
            if (OnRabbitMq && Has(Role.Fetcher) != Has(Role.Detector) && string.IsNullOrWhiteSpace(MessageDataDirectory))
            {
                yield return "Owlbox:MessageDataDirectory is required when fetcher and detector run apart (the shared claim-check folder)";
            }
        }
        foreach (var (concern, name, value, min) in new (OwlboxConcerns, string, long, long)[]
        {
            (OwlboxConcerns.Transport, "Owlbox:RetryLimit", RetryLimit, 0), (OwlboxConcerns.Transport, "Owlbox:InfrastructureRetryLimit", InfrastructureRetryLimit, 0),
            (OwlboxConcerns.Transport, "Owlbox:InlineImageBytes", InlineImageBytes, 0), (OwlboxConcerns.Work, "Owlbox:EmbeddingCacheBytes", EmbeddingCacheBytes, 0),
            (OwlboxConcerns.Work, "Owlbox:EmbeddingCacheDiskBytes", EmbeddingCacheDiskBytes, 1), (OwlboxConcerns.Work, "Owlbox:Writer:BatchMessageLimit", Writer.BatchMessageLimit, 1),
            (OwlboxConcerns.Work, "Owlbox:Detector:BatchMessageLimit", Detector.BatchMessageLimit, 1), (OwlboxConcerns.Work, "Owlbox:Engine:Threads", Engine.Threads, 0),
            (OwlboxConcerns.Work, "Owlbox:Engine:ConcurrentRuns", Engine.ConcurrentRuns, 1), (OwlboxConcerns.Work, "Owlbox:Fetcher:Concurrency", Fetcher.Concurrency, 1),
            (OwlboxConcerns.Work, "Owlbox:Verifier:Concurrency", Verifier.Concurrency, 1), (OwlboxConcerns.Work, "Owlbox:Verifier:MaxRetries", Verifier.MaxRetries, 0),
        })
        {
            if (concerns.HasFlag(concern) && value < min)
            {
                yield return $"{name} must be at least {min}, got {value}";
            }
        }
        foreach (var (concern, name, value) in new (OwlboxConcerns, string, TimeSpan)[]
        {
            (OwlboxConcerns.Transport, "Owlbox:InfrastructureRetryMaxInterval", InfrastructureRetryMaxInterval), (OwlboxConcerns.Work, "Owlbox:Writer:BatchTimeLimit", Writer.BatchTimeLimit),
            (OwlboxConcerns.Work, "Owlbox:Detector:BatchTimeLimit", Detector.BatchTimeLimit), (OwlboxConcerns.Work, "Owlbox:StalledAfter", StalledAfter),
        })
        {
            if (concerns.HasFlag(concern) && value <= TimeSpan.Zero)
            {
                yield return $"{name} must be positive, got {value}";
            }
        }
    }
}

public sealed class LocalDatasetOptions
{
    /// <summary>Folders local datasets must be inside (canonical paths, symbolic links followed). None: the services
    /// refuse local datasets.</summary>
    public List<string> LocalRoots { get; set; } = [];

    /// <summary>Any folder (the one-process CLI, for the folder on its own command line); never for services.</summary>
    public bool AllowAnyFolder { get; set; }

    public Owlbox.Datasets.LocalDatasetAccess ToAccess() => AllowAnyFolder ? Owlbox.Datasets.LocalDatasetAccess.AnyFolder : new(LocalRoots);
}
