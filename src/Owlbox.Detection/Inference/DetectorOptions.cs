namespace Owlbox.Detection.Inference;

/// <summary>How the ONNX Runtime session runs.</summary>
public sealed record DetectorOptions
{
    /// <summary>"cpu", "cuda" or "auto" (CUDA when its libraries load, else CPU). Default "auto".</summary>
    public string ExecutionProvider { get; init; } = "auto";

    /// <summary>CUDA device index when the CUDA provider is used.</summary>
    public int DeviceId { get; init; }

    /// <summary>CPU threads for inference in total, shared by the concurrent runs; 0 uses every core.</summary>
    public int Threads { get; init; }

    /// <summary>Images in the session at once, each on its own <see cref="InferenceWorkers"/> thread that decodes its
    /// image and then runs it (default 2; at most <see cref="Threads"/>). While one decodes, the other's run keeps the
    /// cores or the GPU busy.</summary>
    public int ConcurrentRuns { get; init; } = 2;

    /// <summary>Images per run of the split form's image encoder (0, the default: 1 on CPU, where concurrent runs keep
    /// the cores busy; on CUDA as many as fit in the device's free memory, up to 64). Above 1, a batch's images are
    /// decoded on the thread pool and run in groups of this many, input and outputs bound once to pinned host memory.
    /// The detector's consumer batch (<c>Owlbox:Detector:BatchMessageLimit</c>) is raised to it where smaller.</summary>
    public int ImageBatchSize { get; init; }

    /// <summary>OWLv2's square padding: black (current transformers, the default) or grey (transformers 4.45.2, as
    /// the original Edge Impulse block ran; <c>owlbox block</c> uses it).</summary>
    public Imaging.Owlv2Padding Owlv2Padding { get; init; } = Imaging.Owlv2Padding.Black;

    /// <summary>A configured batch above this is a typo, not a plan: 256 OWLv2 inputs are 2.8 GB of pinned memory.</summary>
    public const int MaxImageBatchSize = 256;

    public int EffectiveConcurrentRuns(int cores)
    {
        if (ConcurrentRuns < 1 || Threads < 0 || ImageBatchSize is < 0 or > MaxImageBatchSize)
        {
            throw new ArgumentException($"ConcurrentRuns must be 1 or more, Threads 0 or more and ImageBatchSize 0 to {MaxImageBatchSize} (were {ConcurrentRuns}, {Threads} and {ImageBatchSize})");
        }
        return Math.Min(ConcurrentRuns, Budget(cores));
    }

    /// <summary>Intra-op threads of one run: the budget split between the runs, so together they never ask for more
    /// threads than the budget (oversubscribed cores stall every parallel operator at its barrier).</summary>
    public int IntraOpThreadsPerRun(int cores) => Math.Max(1, Budget(cores) / EffectiveConcurrentRuns(cores));

    private int Budget(int cores) => Threads > 0 ? Threads : Math.Max(1, cores);
}
