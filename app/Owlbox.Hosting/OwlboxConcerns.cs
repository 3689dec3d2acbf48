namespace Owlbox.Hosting;

/// <summary>The settings of <see cref="OwlboxOptions"/> by what relies on them: a command checks those it uses and
/// no others (a block that only follows a job on the broker holds no job store and runs no stage).</summary>
[Flags]
public enum OwlboxConcerns
{
    None = 0,

    /// <summary>Which bus (<c>Owlbox:Transport</c>), its broker (<c>Owlbox:RabbitMq</c>) and message retries.</summary>
    Transport = 1,

    /// <summary>The roles this process runs and what they must share: the job store, the claim-check folder.</summary>
    Deployment = 2,

    /// <summary>The stages' work: engine, batches, caches, concurrency, how long a job may stall.</summary>
    Work = 4,

    All = Transport | Deployment | Work,
}
